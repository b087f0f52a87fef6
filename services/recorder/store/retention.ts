import type { Logger } from '../../shared/logger.js';
import type { ClickHouse } from '../clickhouse/client.js';
import { ident, inList, sql } from '../clickhouse/quote.js';

/** Tables partitioned by day (`toYYYYMMDD`) whose old partitions retention drops. */
export const RETAINED_TABLES = [
  'events',
  'sessions',
  'dead_letters',
  'policy_requests',
  'policy_request_refs',
  'policy_decision_inputs',
  'policy_sessions',
] as const;

export type DroppedPartition = { table: string; partition: number };

/**
 * Drops every daily partition older than `retentionDays` (today in the server's time zone counts as day 0, so
 * `retentionDays: 30` keeps today and the 30 days before it). ClickHouse 18.16 has no TTL; dropping whole
 * partitions is cheap and exact. Safe to run on several recorders at once (dropping a gone partition is a no-op).
 */
export async function dropExpiredPartitions(
  ch: ClickHouse,
  database: string,
  retentionDays: number,
  log: Logger,
): Promise<DroppedPartition[]> {
  if (retentionDays <= 0) return [];
  const rows = await ch.query<{ table: string; partition: string }>(
    sql`SELECT DISTINCT table, partition FROM system.parts
        WHERE active AND database = ${database} AND table IN ${inList([...RETAINED_TABLES])}
          AND toUInt32(partition) < toYYYYMMDD(subtractDays(today(), ${retentionDays}))
        ORDER BY table, partition`,
  );
  const dropped: DroppedPartition[] = [];
  for (const r of rows) {
    const partition = Number(r.partition);
    if (!Number.isSafeInteger(partition)) continue;
    await ch.command(sql`ALTER TABLE ${ident(r.table)} DROP PARTITION ${partition}`);
    log.info({ table: r.table, partition }, 'retention: dropped daily partition');
    dropped.push({ table: r.table, partition });
  }
  return dropped;
}
