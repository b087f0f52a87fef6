import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The recorder's Prometheus metrics, on their own registry (one per recorder instance). */
export type RecorderMetrics = ReturnType<typeof createRecorderMetrics>;

export function createRecorderMetrics(registry = new Registry()) {
  return {
    registry,
    consumed: new Counter({
      name: 'gatehouse_recorder_records_consumed_total',
      help: 'Kafka records handed to the recorder, by topic',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    inserted: new Counter({
      name: 'gatehouse_recorder_events_inserted_total',
      help: 'Event rows written to ClickHouse (re-written rows after a retry count again)',
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'gatehouse_recorder_insert_batch_rows',
      help: 'Rows per write (events and dead letters)',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 50_000],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'gatehouse_recorder_insert_seconds',
      help: 'Time to write one batch (events, dead letters and session summaries)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    insertFailures: new Counter({
      name: 'gatehouse_recorder_insert_failures_total',
      help: 'Failed writes (each is retried)',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'gatehouse_recorder_dead_letters_total',
      help: 'Records that could not be decoded and were written to dead_letters',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    pendingRows: new Gauge({
      name: 'gatehouse_recorder_pending_rows',
      help: 'Consumed rows waiting for the next write',
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'gatehouse_recorder_consumer_lag',
      help: 'Records behind the high watermark after the last batch, by topic and partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    partitionsDropped: new Counter({
      name: 'gatehouse_recorder_partitions_dropped_total',
      help: 'Daily partitions dropped by retention, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
  };
}
