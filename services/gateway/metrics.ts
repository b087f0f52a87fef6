import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventPublisher, PublisherStats } from '../shared/log/publisher.js';
import type { MemoOutcome } from './pipeline/index.js';
import type { PolicyResult } from './policy/index.js';

/** The gateway's Prometheus metrics, on their own registry. */
export function createGatewayMetrics(publisher: () => EventPublisher | undefined) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_gateway_' });
  const sessions = new Gauge({
    name: 'gatehouse_gateway_sessions',
    help: 'Open client sessions',
    labelNames: ['protocol'],
    registers: [registry],
  });
  const sessionsOpened = new Counter({
    name: 'gatehouse_gateway_sessions_opened_total',
    help: 'Client sessions this node accepted (logged in), by protocol; behind a load balancer, the spread per node',
    labelNames: ['protocol'],
    registers: [registry],
  });
  const logins = new Counter({
    name: 'gatehouse_gateway_login_failures_total',
    help: 'Refused logins by error code',
    labelNames: ['protocol', 'code'],
    registers: [registry],
  });
  const refusedDecisions = new Counter({
    name: 'gatehouse_gateway_approval_decisions_refused_total',
    help: 'Approval decisions about requests of this node that were refused (unsigned, forged, replayed, wrong reviewer)',
    labelNames: ['code'],
    registers: [registry],
  });
  const loginRefusals = new Counter({
    name: 'gatehouse_gateway_login_refusals_unrecorded_total',
    help: 'Refused logins not recorded one by one: suppressed (per-source rate limit, counted in a summary event) or unrecorded (the audit log refused them)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const decisions = talliedCounter(
    registry,
    'gatehouse_gateway_requests_total',
    'Requests by decision (allow, deny, approval, policy_error)',
    'protocol',
    'decision',
  );
  const evalSeconds = new Histogram({
    name: 'gatehouse_gateway_policy_eval_seconds',
    help: 'In-process policy evaluation time',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [registry],
  });
  new Gauge({
    name: 'gatehouse_gateway_publish_buffered_events',
    help: 'Audit events buffered, not yet acknowledged by Kafka',
    registers: [registry],
    collect() {
      this.set(publisher()?.stats().bufferedEvents ?? 0);
    },
  });
  new Gauge({
    name: 'gatehouse_gateway_publish_buffered_bytes',
    help: 'Audit bytes buffered, not yet acknowledged by Kafka',
    registers: [registry],
    collect() {
      this.set(publisher()?.stats().bufferedBytes ?? 0);
    },
  });
  new Gauge({
    name: 'gatehouse_gateway_publish_batch_latency_seconds',
    help: 'Latency of the last produce request (acks=all)',
    registers: [registry],
    collect() {
      this.set((publisher()?.stats().lastBatchLatencyMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'gatehouse_gateway_publish_unavailable_seconds',
    help: 'How long Kafka has been unreachable with events waiting (0 when healthy)',
    registers: [registry],
    collect() {
      this.set((publisher()?.stats().unavailableForMs ?? 0) / 1000);
    },
  });
  let refusedReported = 0;
  new Counter({
    name: 'gatehouse_gateway_audit_records_refused_total',
    help: 'Audit records Kafka refused for good (too large, not authorized, corrupt); each failed its session',
    registers: [registry],
    collect() {
      const refused = publisher()?.stats().refusedRecords ?? 0;
      if (refused > refusedReported) this.inc(refused - refusedReported);
      refusedReported = Math.max(refusedReported, refused);
    },
  });
  // What the audit costs the brokers follows the produce rounds, not the events (bench:http reads these two).
  const publisherCounter = (name: string, help: string, read: (s: PublisherStats) => number) => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = publisher()?.stats();
        const now = stats === undefined ? 0 : read(stats);
        if (now > reported) this.inc(now - reported);
        reported = Math.max(reported, now);
      },
    });
  };
  publisherCounter(
    'gatehouse_gateway_publish_rounds_total',
    'Produce rounds the publisher completed (each one produce request per partition it touched, acks=all)',
    (s) => s.sentBatches,
  );
  publisherCounter(
    'gatehouse_gateway_publish_records_total',
    'Kafka records acknowledged (a session batch record carries several events)',
    (s) => s.sentEvents,
  );
  const memoOutcomes = talliedCounter(
    registry,
    'gatehouse_gateway_decision_memo_total',
    'Policy evaluations through the decision memo: hit (reused), miss (evaluated, remembered), bypass (not memoisable)',
    'outcome',
  );
  const recordMemo = (outcome: MemoOutcome): void => memoOutcomes('', outcome);
  /** Counts one policy result by outcome and observes its evaluation time. */
  const recordDecision = (protocol: string, r: PolicyResult): void => {
    evalSeconds.observe(r.evalMicros / 1e6);
    const decision = r.failedClosed
      ? 'policy_error'
      : r.decision.allow
        ? 'allow'
        : r.decision.approval.required
          ? 'approval'
          : 'deny';
    decisions(protocol, decision);
  };
  return {
    registry,
    sessions,
    sessionsOpened,
    logins,
    refusedDecisions,
    loginRefusals,
    recordDecision,
    recordMemo,
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/**
 * A counter of one or two labels counted per request: tallied in plain numbers and added to the Prometheus counter
 * when it is scraped. prom-client's `inc` hashes its labels object on every call, which was ~1.5 % of the HTTP
 * proxy's CPU for the two counters every request touches. With one label name, `first` is ''.
 */
function talliedCounter(
  registry: Registry,
  name: string,
  help: string,
  ...labelNames: [string] | [string, string]
): (first: string, second: string) => void {
  const tallies = new Map<string, Map<string, number>>();
  const [a, b] = labelNames;
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [first, counts] of tallies)
        for (const [second, n] of counts) {
          if (n === 0) continue;
          this.inc(b === undefined ? { [a]: second } : { [a]: first, [b]: second }, n);
          counts.set(second, 0);
        }
    },
  });
  return (first, second) => {
    let counts = tallies.get(first);
    if (counts === undefined) tallies.set(first, (counts = new Map<string, number>()));
    counts.set(second, (counts.get(second) ?? 0) + 1);
  };
}
