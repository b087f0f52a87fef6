import type { Kafka } from 'kafkajs';
import type { Logger } from '../logger.js';
import { EventConsumer } from './consumer.js';
import type { EventConsumerOptions } from './consumer.js';
import type { EventLog, LogConsumer, LogPublisher, LogReader, LogReaderOptions } from './event-log.js';
import { LogTail } from './log-tail.js';
import { KafkaPublisher } from './publisher.js';
import type { PublisherOptions } from './publisher.js';
import { ensureTopics } from './topics.js';
import type { TopicSpec } from './topics.js';

/** The event log on Kafka: the cluster's implementation (acks=all publisher, consumer groups, private tails). */
export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly kafka: Kafka;

  constructor(kafka: Kafka) {
    this.kafka = kafka;
  }

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return ensureTopics(this.kafka, specs);
  }

  createPublisher(log: Logger, opts: Partial<PublisherOptions> = {}): LogPublisher {
    return new KafkaPublisher(this.kafka, log, opts);
  }

  createConsumer(log: Logger, opts: EventConsumerOptions): LogConsumer {
    return new EventConsumer(this.kafka, log, opts);
  }

  createReader(opts: LogReaderOptions): LogReader {
    return new LogTail({ kafka: this.kafka, ...opts });
  }
}
