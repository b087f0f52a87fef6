import { decodeEvent } from '../../shared/events/codec.js';
import type { EventLog, LogConsumer } from '../../shared/log/event-log.js';
import type { ConsumedRecord } from '../../shared/log/consumer.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { ApprovalMetrics } from '../metrics.js';
import { approvalIdOf, GATEWAY_NOTICES } from '../model/fold.js';

export type RequestRelayOptions = {
  eventLog: EventLog;
  log: Logger;
  publisher: EventPublisher;
  metrics: ApprovalMetrics;
  /** Where gateways write `approval.requested` (`kafka.topics.approvalRequests`). */
  from: string;
  /** The approvals log only the approval service writes (`kafka.topics.approvals`). */
  to: string;
  /** Shared by every instance, so each request is relayed by one of them. */
  groupId: string;
};

/** Whether a record of the requests topic is relayed (under its approval id) or dropped (and why). */
export function relayVerdict(r: Pick<ConsumedRecord, 'key' | 'value'>): { id: string } | { dropped: string } {
  let event;
  try {
    event = decodeEvent(r.value);
  } catch {
    return { dropped: 'undecodable' };
  }
  const b = event.body;
  const notice =
    b.case === 'approvalDecided' &&
    GATEWAY_NOTICES.includes(b.value.outcome) &&
    b.value.keyId === '' &&
    b.value.signature.length === 0;
  if (b.case !== 'approvalRequested' && !notice) {
    return { dropped: `not a request or a gateway notice (${b.case ?? 'empty'})` };
  }
  const id = approvalIdOf(event);
  if (id === undefined || id === '') return { dropped: 'no approval id' };
  if (r.key?.toString('utf8') !== id) return { dropped: 'key is not the approval id' };
  return { id };
}

/**
 * Copies approval requests from the topic gateways may write into the approvals log, which only the approval
 * service's principal may write (Kafka ACLs). That keeps one ordered log of requests and decisions for the fold,
 * the gateways' waiters and the recorder, while a gateway's credentials cannot put a decision on it. Only
 * well-formed `approval.requested` events and a gateway's unsigned notices (`approval.decided` with outcome
 * `abandoned`, `waited` or `holding`, which can end an approval but never resume a request; the fold checks them) keyed by
 * their approval id are copied, byte for byte; anything else is dropped and logged as a security event. The offset is committed after the copy is acknowledged (acks=all): a
 * crash copies a request twice at worst, and the fold ignores the second copy.
 */
export class RequestRelay {
  readonly #o: RequestRelayOptions;
  readonly #log: Logger;
  readonly #consumer: LogConsumer;
  #resolveJoined!: () => void;
  /** Resolves once the relay joined its group. */
  readonly joined: Promise<void> = new Promise<void>((resolve) => (this.#resolveJoined = resolve));

  constructor(opts: RequestRelayOptions) {
    this.#o = opts;
    this.#log = opts.log.child({ component: 'request-relay', from: opts.from });
    this.#consumer = opts.eventLog.createConsumer(opts.log, {
      groupId: opts.groupId,
      topics: [opts.from],
      fromBeginning: true,
      sessionTimeoutMs: 10_000,
      maxBytesPerPartition: 1024 * 1024,
      // Instances join and leave the shared group; short fetches make members rejoin a rebalance quickly, so
      // relaying pauses as briefly as possible.
      maxWaitTimeMs: 500,
    });
    this.#consumer.listen({ joined: () => this.#resolveJoined() });
  }

  async start(): Promise<void> {
    await this.#consumer.start(async (records) => {
      const copies: Promise<void>[] = [];
      for (const r of records) {
        const verdict = relayVerdict(r);
        if ('dropped' in verdict) {
          this.#o.metrics.relayed.inc({ result: 'dropped' });
          this.#log.warn(
            { security: true, partition: r.partition, offset: r.offset, reason: verdict.dropped },
            'record on the approval-requests topic dropped, not relayed',
          );
          continue;
        }
        copies.push(this.#o.publisher.publishDurable({ topic: this.#o.to, key: verdict.id, value: r.value }));
      }
      await Promise.all(copies);
      this.#o.metrics.relayed.inc({ result: 'relayed' }, copies.length);
    });
  }

  /** Finishes the batch in flight (and its commit) and leaves the group. */
  async stop(): Promise<void> {
    await this.#consumer.stop();
  }
}
