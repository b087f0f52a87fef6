import { Counter, Gauge, Registry } from 'prom-client';

/** The approval service's Prometheus metrics, on their own registry (one per instance). */
export type ApprovalMetrics = ReturnType<typeof createApprovalMetrics>;

export function createApprovalMetrics(registry = new Registry()) {
  return {
    registry,
    folded: new Counter({
      name: 'gatehouse_approval_events_folded_total',
      help: 'Approval events folded, by kind (requested, reviewed, decided, duplicate, unrelated, undecodable)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    relayed: new Counter({
      name: 'gatehouse_approval_requests_relayed_total',
      help: 'Records of the approval-requests topic, by result (relayed into the approvals log, dropped)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    ignored: new Counter({
      name: 'gatehouse_approval_events_ignored_total',
      help: 'Folded events that did not count (refused review, later decision), by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'gatehouse_approval_pending',
      help: 'Approvals waiting for a decision',
      registers: [registry],
    }),
    held: new Gauge({
      name: 'gatehouse_approval_records',
      help: 'Approvals held in memory',
      registers: [registry],
    }),
    caughtUp: new Gauge({
      name: 'gatehouse_approval_log_caught_up',
      help: '1 once the approval log was read to its end at start',
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'gatehouse_approval_consumer_lag',
      help: 'Approval-log records not yet folded (sum over partitions, as of the last batch)',
      registers: [registry],
    }),
    reviews: new Counter({
      name: 'gatehouse_approval_reviews_total',
      help: 'Review calls, by verdict and result (accepted, refused, unavailable)',
      labelNames: ['verdict', 'result'] as const,
      registers: [registry],
    }),
    decisionsPublished: new Counter({
      name: 'gatehouse_approval_decisions_published_total',
      help: 'approval.decided events this instance published, by outcome and trigger (review, sweep)',
      labelNames: ['outcome', 'trigger'] as const,
      registers: [registry],
    }),
    publishFailures: new Counter({
      name: 'gatehouse_approval_publish_failures_total',
      help: 'Events this instance could not get acknowledged by Kafka',
      registers: [registry],
    }),
    streams: new Gauge({
      name: 'gatehouse_approval_streams',
      help: 'Open server-sent-event and gRPC watch streams',
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'gatehouse_approval_notifications_total',
      help: 'Webhook notifications, by result (sent, failed, dropped, retried)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    notifyQueue: new Gauge({
      name: 'gatehouse_approval_notify_queue',
      help: 'Webhook notifications waiting to be sent',
      registers: [registry],
    }),
  };
}
