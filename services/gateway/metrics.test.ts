import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './metrics.js';
import type { PolicyResult } from './policy/index.js';

const result = (allow: boolean, approval = false): PolicyResult => ({
  failedClosed: false,
  revision: 'r1',
  evalMicros: 40,
  decision: {
    allow,
    reasons: [],
    audit: 'batched',
    approval: { required: approval, groups: [], approvals_needed: 0, reuse_seconds: 0, ttl_seconds: 0 },
    mask: { fields: [], columns: [], detectors: [] },
    grants_used: [],
  },
});

describe('gateway metrics', () => {
  it('counts requests by protocol and decision, and memo outcomes, once each across scrapes', async () => {
    const m = createGatewayMetrics(() => undefined);
    m.recordDecision('http', result(true));
    m.recordDecision('http', result(true));
    m.recordDecision('ssh', result(false, true));
    m.recordMemo('hit');
    let text = await m.registry.metrics();
    expect(text).toContain('gatehouse_gateway_requests_total{protocol="http",decision="allow"} 2');
    expect(text).toContain('gatehouse_gateway_requests_total{protocol="ssh",decision="approval"} 1');
    expect(text).toContain('gatehouse_gateway_decision_memo_total{outcome="hit"} 1');
    expect(text).toContain('gatehouse_gateway_policy_eval_seconds_count 3');
    m.recordDecision('http', result(true));
    m.recordDecision('http', result(false));
    text = await m.registry.metrics();
    expect(text).toContain('gatehouse_gateway_requests_total{protocol="http",decision="allow"} 3');
    expect(text).toContain('gatehouse_gateway_requests_total{protocol="http",decision="deny"} 1');
    expect(text).toContain('gatehouse_gateway_requests_total{protocol="ssh",decision="approval"} 1');
    expect(text).toContain('gatehouse_gateway_decision_memo_total{outcome="hit"} 1');
  });
});
