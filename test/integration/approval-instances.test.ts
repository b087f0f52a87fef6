import { describe, expect, it } from 'vitest';
import { decidedEvent } from '../../services/approval/log/approval-events.js';
import { draftDecision } from '../../services/approval/model/decision.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import {
  api,
  approvalTestConfig,
  ddlRequest,
  folded,
  identity,
  startTestApprovalService,
  startTestWaiter,
  testSigningKey,
} from '../support/approval.js';
import { testKafka, testLogger } from '../support/kafka.js';
import { useApprovalFlowFixture } from '../support/approval-flow.js';

/**
 * Approval service instances against real Kafka: a restart rebuilds from the log, two instances deciding at once
 * and two decisions published at once resolve to one outcome everywhere; the gateway-side waiter's own failures.
 */
const fx = useApprovalFlowFixture();

describe('approval service instances', () => {
  it('two instances deciding the same request at once produce exactly one outcome', async () => {
    const other = await startTestApprovalService(approvalTestConfig(fx));
    try {
      for (let round = 0; round < 3; round++) {
        const pending = fx.gw.waiter.request(ddlRequest({ fingerprint: `${round}`.repeat(64) }));
        await folded(fx.service, pending.approvalId);
        await folded(other, pending.approvalId);
        const path = (verdict: string) => `/v1/approvals/${pending.approvalId}/${verdict}`;
        const [a, b] = await Promise.all([
          api(fx.service.url, 'POST', path('approve'), fx.tokens.bob),
          api(other.url, 'POST', path('reject'), fx.tokens.carol, { reason: 'no' }),
        ]);
        const statuses = [a.status, b.status].sort();
        expect(statuses).toEqual([200, 409]);
        const winner = a.status === 200 ? a.body.approval.state : b.body.approval.state;
        expect(['approved', 'rejected']).toContain(winner);
        const outcome = await pending.outcome;
        expect(outcome.outcome).toBe(winner);
        // both instances agree, and at most one decision counted
        for (const s of [fx.service, other]) {
          const r = await folded(s, pending.approvalId);
          const settled = await (async () => {
            for (let i = 0; i < 100 && !s.store.get(pending.approvalId)?.decision; i++) {
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
            return s.store.get(pending.approvalId) ?? r;
          })();
          expect(settled.decision?.outcome).toBe(winner);
          const counted = settled.history.filter((h) => h.kind === 'decided' && h.ignored === '');
          expect(counted).toHaveLength(1);
        }
      }
    } finally {
      await other.stop({ timeoutMs: 5_000 });
    }
  });
});

describe('conflicting decisions', () => {
  it('two decisions published at once resolve the same everywhere: the first in log order', async () => {
    const other = await startTestApprovalService(approvalTestConfig(fx));
    const publishers = [0, 1].map(() => {
      const p = new KafkaPublisher(testKafka('test-forger'), testLogger, { durableTimeoutMs: 15_000 });
      p.start();
      return p;
    });
    try {
      const pending = fx.gw.waiter.request(ddlRequest({ fingerprint: 'e'.repeat(64) }));
      const record = await folded(fx.service, pending.approvalId);
      await folded(other, pending.approvalId);
      const bob = identity('bob', ['dba']);
      const approved = decidedEvent(
        record,
        'instance-1',
        {
          outcome: 'approved',
          reviewer: bob,
          reason: '',
          approvers: [bob],
          approverGroups: ['dba'],
        },
        testSigningKey().key,
      );
      const expired = decidedEvent(
        record,
        'instance-2',
        draftDecision(record, 'expired'),
        testSigningKey().key,
      );
      await Promise.all(
        [approved, expired].map((e, i) =>
          publishers[i]!.publishDurable({
            topic: fx.topic,
            key: pending.approvalId,
            value: Buffer.from(encodeEvent(e)),
          }),
        ),
      );
      const outcome = await pending.outcome;
      const decisions = async (s: RunningApprovalService) => {
        for (let i = 0; i < 100; i++) {
          const r = s.store.get(pending.approvalId);
          if (r && r.history.filter((h) => h.kind === 'decided').length === 2) return r;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error('decisions not folded');
      };
      const [a, b] = [await decisions(fx.service), await decisions(other)];
      const order = (r: typeof a) =>
        r.history.filter((h) => h.kind === 'decided').map((h) => [h.outcome, h.ignored]);
      expect(order(a)).toEqual(order(b));
      const counted = order(a).filter(([, ignored]) => ignored === '');
      expect(counted).toHaveLength(1);
      expect(a.decision?.outcome).toBe(counted[0]![0]);
      expect(outcome.outcome).toBe(counted[0]![0]);
      expect(fx.gw.waiter.grantsFor('alice', 'demo-pg', 'e'.repeat(64)).length).toBe(
        outcome.outcome === 'approved' ? 1 : 0,
      );
    } finally {
      await Promise.all(publishers.map((p) => p.close(5_000)));
      await other.stop({ timeoutMs: 5_000 });
    }
  });
});

describe('approval waiter', () => {
  it('resolves unavailable when the request cannot be published', async () => {
    const local = await startTestWaiter({ topic: fx.topic, approvalUrl: fx.service.url });
    await local.publisher.close(1_000);
    const pending = local.waiter.request(ddlRequest());
    expect(await pending.published).toBe(false);
    const outcome = await pending.outcome;
    expect(outcome.outcome).toBe('unavailable');
    expect(outcome.reason).toMatch(/approval log cannot be reached/);
    await local.waiter.stop();
  });
});
