import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecord } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { testKafka, testLogger } from './kafka.js';

export type DecidedRequest = {
  sessionId: string;
  requestId: number;
  kind: string;
  text: string;
  parsed: { sql?: { statements?: Record<string, unknown>[] } };
  allow: boolean;
  reasons: string[];
};

/**
 * Reads a sessions topic from the beginning for as long as the test file runs, and pairs each `request` event with
 * its `decision` (same session and request id).
 */
export class SessionEventReader {
  readonly events: Event[] = [];
  readonly raw: Buffer[] = [];
  readonly #consumer: EventConsumer;

  constructor(topic: string) {
    this.#consumer = new EventConsumer(testKafka('test-reader'), testLogger, {
      groupId: `reader-${Date.now()}-${Math.random()}`,
      topics: [topic],
    });
    void this.#consumer.start((records) => {
      for (const r of records) {
        this.raw.push(r.value);
        this.events.push(...decodeRecord(r.value));
      }
      return Promise.resolve();
    });
  }

  decided(): DecidedRequest[] {
    const requests = new Map<string, DecidedRequest>();
    const out: DecidedRequest[] = [];
    for (const e of this.events) {
      if (e.body.case === 'request') {
        const v = e.body.value;
        requests.set(`${e.sessionId}/${v.requestId}`, {
          sessionId: e.sessionId,
          requestId: v.requestId,
          kind: v.kind,
          text: v.text,
          parsed: v.parsedJson ? (JSON.parse(v.parsedJson) as DecidedRequest['parsed']) : {},
          allow: false,
          reasons: [],
        });
      } else if (e.body.case === 'decision') {
        const r = requests.get(`${e.sessionId}/${e.body.value.requestId}`);
        if (r) out.push({ ...r, allow: e.body.value.allow, reasons: [...e.body.value.reasons] });
      }
    }
    return out;
  }

  /** Waits (up to 30 s) for a decided request whose text contains `fragment` (and of `kind`, when given). */
  async decision(fragment: string, kind?: string, timeoutMs = 30_000): Promise<DecidedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.decided().find(
        (d) => d.text.includes(fragment) && (kind === undefined || d.kind === kind),
      );
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no decision for a request containing ${JSON.stringify(fragment)}`);
      await sleep(200);
    }
  }

  stop(): Promise<void> {
    return this.#consumer.stop();
  }
}
