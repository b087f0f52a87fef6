import { encodeEvent } from '../shared/events/codec.js';
import type { EventBody, SessionEvents } from '../shared/events/session-events.js';
import type { EventPublisher } from '../shared/log/publisher.js';

/**
 * The audit side of one gateway session: turns event bodies into the session's ordered envelopes and hands them
 * to the publisher, batched (read traffic) or durable (state-changing requests: resolves once Kafka acknowledged).
 * Publishing errors propagate: the caller refuses the work (fail closed).
 */
export class SessionAudit {
  readonly events: SessionEvents;
  readonly #publisher: EventPublisher;
  readonly #topic: string;

  constructor(events: SessionEvents, publisher: EventPublisher, topic: string) {
    this.events = events;
    this.#publisher = publisher;
    this.#topic = topic;
  }

  get sessionId(): string {
    return this.events.sessionId;
  }

  /** Throws the publisher's refusal, if any, before work starts (so no sequence number is spent on it). */
  assertAccepting(): void {
    this.#publisher.assertAccepting();
  }

  batched(body: EventBody, policyRevision = ''): void {
    const event = this.events.next(body, policyRevision);
    this.#publisher.publishBatched({
      topic: this.#topic,
      key: event.sessionId,
      value: Buffer.from(encodeEvent(event)),
    });
  }

  durable(body: EventBody, policyRevision = ''): Promise<void> {
    const event = this.events.next(body, policyRevision);
    return this.#publisher.publishDurable({
      topic: this.#topic,
      key: event.sessionId,
      value: Buffer.from(encodeEvent(event)),
    });
  }
}
