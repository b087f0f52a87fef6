import type { Kafka } from 'kafkajs';
import type { Logger } from '../../shared/logger.js';
import { nodeRecordSchema } from '../../shared/policy-stream/node-record.js';
import type { NodeRecord } from '../../shared/policy-stream/node-record.js';
import { readTopic } from './topic-reader.js';

export type NodeStatus = NodeRecord & { readonly live: boolean };

/**
 * Folds the nodes topic: the newest record per node. A node is live while its newest record is a heartbeat or a
 * refusal younger than three of its intervals; a node that said `stopped`, or went quiet, is not.
 */
export async function nodeStatuses(
  kafka: Kafka,
  log: Logger,
  o: { topic: string; groupIdPrefix: string; timeoutMs: number; now?: number },
): Promise<NodeStatus[]> {
  // Liveness is judged as of the start of the read: the end of the topic is fixed then.
  const now = o.now ?? Date.now();
  const records = await readTopic(kafka, log, { ...o, maxRecords: 100_000 });
  const newest = new Map<string, NodeRecord>();
  for (const r of records) {
    let json: unknown;
    try {
      json = JSON.parse(r.value.toString('utf8'));
    } catch {
      continue; // not a node record: skipped
    }
    const parsed = nodeRecordSchema.safeParse(json);
    if (!parsed.success) continue;
    const prev = newest.get(parsed.data.node);
    if (!prev || prev.at <= parsed.data.at) newest.set(parsed.data.node, parsed.data);
  }
  return [...newest.values()]
    .map((n) => ({ ...n, live: n.type !== 'stopped' && now - n.at <= 3 * n.intervalMs }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The status table `gatehouse policy status` prints. */
export function formatStatus(nodes: readonly NodeStatus[], all: boolean): string {
  const shown = all ? nodes : nodes.filter((n) => n.live);
  if (shown.length === 0) return 'no live gateway nodes heartbeat on the nodes topic\n';
  const rows = [['NODE', 'LIVE', 'REVISION', 'SINCE', 'SHADOW', 'REFUSED', 'LAST REFUSAL']];
  for (const n of shown) {
    const last = n.refusals[0];
    rows.push([
      n.node,
      n.live ? 'yes' : 'no',
      n.revision ?? '-',
      iso(n.since),
      n.shadowRevision ?? '-',
      String(n.refusedTotal),
      last ? `${last.revision} ${last.code}: ${last.reason.replace(/\s+/g, ' ').slice(0, 100)}` : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') +
    '\n'
  );
}
