import { decodeEvent } from '../../shared/events/codec.js';
import type { EventLog, LogConsumer } from '../../shared/log/event-log.js';
import type { Logger } from '../../shared/logger.js';
import { approvalIdOf } from '../model/fold.js';
import type { ApprovalStore } from '../store/approval-store.js';
import { decidedMessage, requestedMessage } from './messages.js';
import type { WebhookNotifier, WebhookTarget } from './webhook-notifier.js';

export type NotifyConsumerOptions = {
  eventLog: EventLog;
  log: Logger;
  topic: string;
  groupId: string;
  store: ApprovalStore;
  notifier: WebhookNotifier;
  targets: readonly WebhookTarget[];
  publicUrl: () => string;
  /** How long to wait for the fold to see an event before skipping its notification. */
  foldWaitMs: number;
};

/**
 * Turns new requests and outcomes into webhook notifications. It reads the approvals topic in a consumer group
 * shared by every approval-service instance, so each event is announced by one instance, and starts at the end of
 * the log when the group is new (no announcements of history). It waits for this instance's fold to have seen the
 * event, so only the winning decision is announced. Notifications are queued, never awaited: a slow webhook never
 * holds up the log.
 */
export class NotifyConsumer {
  readonly #o: NotifyConsumerOptions;
  readonly #consumer: LogConsumer;
  #resolveJoined!: () => void;
  /** Resolves once the consumer joined its group (tests publish after it). */
  readonly joined: Promise<void> = new Promise<void>((resolve) => (this.#resolveJoined = resolve));

  constructor(opts: NotifyConsumerOptions) {
    this.#o = opts;
    this.#consumer = opts.eventLog.createConsumer(opts.log, {
      groupId: opts.groupId,
      topics: [opts.topic],
      fromBeginning: false,
      sessionTimeoutMs: 10_000,
      maxBytesPerPartition: 1024 * 1024,
    });
    this.#consumer.listen({ joined: () => this.#resolveJoined() });
  }

  async start(): Promise<void> {
    await this.#consumer.start(async (records) => {
      for (const r of records) {
        let event;
        try {
          event = decodeEvent(r.value);
        } catch {
          continue; // the fold counts undecodable records
        }
        const kind = event.body.case;
        if (kind !== 'approvalRequested' && kind !== 'approvalDecided') continue;
        const id = approvalIdOf(event);
        if (id === undefined) continue;
        if (!(await this.#o.store.waitForEvent(event.eventId, this.#o.foldWaitMs))) {
          this.#o.log.warn({ approval: id, kind }, 'event not folded in time; notification skipped');
          continue;
        }
        const record = this.#o.store.get(id);
        const entry = record?.history.find((h) => h.eventId === event.eventId);
        if (!record || !entry || entry.ignored !== '') continue;
        const message =
          kind === 'approvalRequested'
            ? requestedMessage(record, this.#o.publicUrl())
            : decidedMessage(record, entry, this.#o.publicUrl());
        const sent = new Set<string>(); // one POST per URL, even when several of its groups match
        for (const target of this.#o.targets) {
          if (sent.has(target.url)) continue;
          if (target.group === '*' || record.request.groups.includes(target.group)) {
            sent.add(target.url);
            this.#o.notifier.notify(target, message);
          }
        }
      }
    });
  }

  stop(): Promise<void> {
    return this.#consumer.stop();
  }
}
