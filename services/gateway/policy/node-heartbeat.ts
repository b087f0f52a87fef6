import type { Kafka, Producer } from 'kafkajs';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { NodeRecord } from '../../shared/policy-stream/node-record.js';
import type { ActivePolicyStatus, PolicyRefusal } from './active-policy.js';

export type NodeHeartbeatOptions = {
  kafka: Kafka;
  log: Logger;
  topic: string;
  nodeId: string;
  intervalMs: number;
  status: () => ActivePolicyStatus;
  now?: () => number;
};

/** Publishes the node's policy status to the nodes topic (best effort: a failed heartbeat is logged, not fatal). */
export class NodeHeartbeat {
  readonly #o: NodeHeartbeatOptions;
  readonly #producer: Producer;
  #timer: NodeJS.Timeout | undefined;
  #connected = false;

  constructor(o: NodeHeartbeatOptions) {
    this.#o = o;
    this.#producer = o.kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    this.#connected = true;
    await this.send('heartbeat');
    this.#timer = setInterval(() => void this.send('heartbeat'), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Sends the refusal at once (the heartbeats repeat it in `refusals`). */
  refused(refusal: PolicyRefusal): void {
    void this.send('refused', refusal);
  }

  async send(type: NodeRecord['type'], refusal?: PolicyRefusal): Promise<void> {
    if (!this.#connected) return;
    const s = this.#o.status();
    const record: NodeRecord = {
      v: 1,
      type,
      node: this.#o.nodeId,
      at: (this.#o.now ?? Date.now)(),
      intervalMs: this.#o.intervalMs,
      revision: s.revision ?? null,
      since: s.since ?? null,
      source: s.source ?? null,
      shadowRevision: s.shadowRevision ?? null,
      refusedTotal: s.refusedTotal,
      refusals: refusal ? [refusal, ...s.refusals.filter((r) => r !== refusal)] : [...s.refusals],
    };
    try {
      await this.#producer.send({
        topic: this.#o.topic,
        acks: 1,
        messages: [{ key: this.#o.nodeId, value: JSON.stringify(record) }],
      });
    } catch (err) {
      logError(this.#o.log, err, 'node heartbeat not published', { level: 'warn', type });
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.send('stopped');
    this.#connected = false;
    await this.#producer.disconnect().catch(() => undefined);
  }
}
