import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import type { GatehouseProcess } from './gatehouse-services.js';

/**
 * Letting the recorder finish the run's events before its CPU is read: the gateway's publish buffer is empty, and
 * the recorder has consumed every record of the run's sessions topic (the sum of its partitions' high watermarks,
 * a fresh topic starting at offset 0) and written them (no pending rows). Every wait is bounded.
 */

/** Sum of the samples of metric `name` in Prometheus text whose labels contain every `labels` entry. */
export function metricSum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    if (!wanted.every((w) => labelText.includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

const EVENTS_INSERTED = 'gatehouse_recorder_events_inserted_total';

/** Events (rows) the recorder has inserted so far. */
export async function recorderEventsInserted(recorder: GatehouseProcess): Promise<number> {
  return metricSum(await recorder.metrics(), EVENTS_INSERTED);
}

/** Partitions of every topic on the cluster: each follower's replica fetches walk the ones its leaders lead. */
export async function clusterPartitionCount(admin: Admin): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata();
  return topics.reduce((n, t) => n + t.partitions.length, 0);
}

export async function topicRecordCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

export type CatchUp = {
  /** Records on the run's sessions topic. */
  records: number;
  /**
   * Of those, records published in the measured window (`records` minus the count when it started). A record is a
   * session's batch of events (one per session per produce request, see SessionAudit), not an event.
   */
  windowRecords: number;
  /** Events (rows) the recorder inserted in the window: what the window's records expanded into. */
  windowEvents: number;
  /** Records the recorder had consumed when the wait ended. */
  consumed: number;
  caughtUp: boolean;
  waitedMs: number;
};

async function pollUntil(done: () => Promise<boolean>, deadline: number): Promise<boolean> {
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

export async function waitForRecorder(o: {
  admin: Admin;
  sessionsTopic: string;
  gateway: GatehouseProcess;
  recorder: GatehouseProcess;
  /** Records on the topic when the measured window started. */
  startRecords: number;
  /** Events the recorder had inserted when the measured window started (`recorderEventsInserted`). */
  startEvents: number;
  timeoutMs: number;
}): Promise<CatchUp> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  await pollUntil(
    async () => metricSum(await o.gateway.metrics(), 'gatehouse_gateway_publish_buffered_events') === 0,
    deadline,
  );
  const records = await topicRecordCount(o.admin, o.sessionsTopic);
  let consumed = 0;
  let events = 0;
  const caughtUp = await pollUntil(async () => {
    const text = await o.recorder.metrics();
    consumed = metricSum(text, 'gatehouse_recorder_records_consumed_total', { topic: o.sessionsTopic });
    events = metricSum(text, EVENTS_INSERTED);
    return consumed >= records && metricSum(text, 'gatehouse_recorder_pending_rows') === 0;
  }, deadline);
  return {
    records,
    windowRecords: records - o.startRecords,
    windowEvents: events - o.startEvents,
    consumed,
    caughtUp,
    waitedMs: Date.now() - started,
  };
}
