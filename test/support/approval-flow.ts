import { afterAll, beforeAll } from 'vitest';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import { approvalTestConfig, startTestApprovalService, startTestIdp, startTestWaiter } from './approval.js';
import { uniqueTopic } from './kafka.js';

/**
 * One approval service, one gateway-side waiter and a real OpenID Provider on a fresh approvals topic, with tokens
 * for the reviewers: bob (dba), carol (dba, oncall), dave (dev), alice (dev, dba; the requester) and robot (a dba
 * agent).
 */
export type ApprovalFlowFixture = {
  idp: RunningIdp;
  topic: string;
  service: RunningApprovalService;
  gw: Awaited<ReturnType<typeof startTestWaiter>>;
  tokens: Record<string, string>;
  stop(): Promise<void>;
};

export async function startApprovalFlowFixture(): Promise<ApprovalFlowFixture> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const idp = await startTestIdp();
    cleanups.push(() => idp.stop());
    const topic = await uniqueTopic('approvals');
    const service = await startTestApprovalService(approvalTestConfig({ topic, idp }));
    cleanups.push(() => service.stop({ timeoutMs: 5_000 }));
    const gw = await startTestWaiter({ topic, approvalUrl: service.url });
    cleanups.push(() => gw.stop());
    const users: [string, string[], boolean?][] = [
      ['bob', ['dba']],
      ['carol', ['dba', 'oncall']],
      ['dave', ['dev']],
      ['alice', ['dev', 'dba']], // the requester, also a dba member
      ['robot', ['dba'], true],
    ];
    const tokens: Record<string, string> = {};
    for (const [user, groups, agent] of users) {
      tokens[user] = await idp.issueToken({
        user,
        groups,
        email: `${user}@example.test`,
        agent: agent ?? false,
      });
    }
    return { idp, topic, service, gw, tokens, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Registers this file's beforeAll/afterAll and returns the fixture, filled in once beforeAll has run. */
export function useApprovalFlowFixture(): ApprovalFlowFixture {
  const fx = {} as ApprovalFlowFixture;
  beforeAll(async () => {
    Object.assign(fx, await startApprovalFlowFixture());
  });
  afterAll(() => fx.stop?.());
  return fx;
}
