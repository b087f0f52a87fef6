import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchDecisionsResponse } from '../../proto/gen/gatehouse/v1/approvals_pb.js';
import { ApprovalGrpcClient } from '../../services/approval/grpc/grpc-client.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import {
  approvalTestConfig,
  ddlRequest,
  eventually,
  folded,
  startTestApprovalService,
  startTestIdp,
  startTestWaiter,
} from '../support/approval.js';
import { uniqueTopic } from '../support/kafka.js';

let idp: RunningIdp;
let service: RunningApprovalService;
let gw: Awaited<ReturnType<typeof startTestWaiter>>;
let client: ApprovalGrpcClient;
const tokens: Record<string, string> = {};
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  cleanups.push(() => idp.stop());
  const topic = await uniqueTopic('approvals-grpc');
  service = await startTestApprovalService(approvalTestConfig({ topic, idp }));
  cleanups.push(() => service.stop({ timeoutMs: 3_000 }));
  gw = await startTestWaiter({ topic, approvalUrl: service.url });
  cleanups.push(() => gw.stop());
  client = new ApprovalGrpcClient({ address: service.grpcAddress, timeoutMs: 20_000 });
  cleanups.push(() => Promise.resolve(client.close()));
  for (const [user, groups] of [
    ['bob', ['dba']],
    ['carol', ['dba']],
    ['alice', ['dba']],
    ['dave', ['dev']],
  ] as const) {
    tokens[user] = await idp.issueToken({ user, groups: [...groups], email: `${user}@example.test` });
  }
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('gRPC API (gatehouse.v1.ApprovalService)', () => {
  it('lists, watches and decides with a real grpc-js client', async () => {
    const first = gw.waiter.request(ddlRequest({ requestText: 'TRUNCATE sessions' }));
    await folded(service, first.approvalId);

    // a watch opened first: the snapshot of pending approvals, then every change
    const seen: WatchDecisionsResponse[] = [];
    const stream = client.watch(tokens.bob!, { includePending: true });
    stream.on('data', (m: WatchDecisionsResponse) => seen.push(m));
    stream.on('error', () => undefined); // cancelled at the end
    await eventually(
      () => seen.find((m) => m.kind === 'snapshot' && m.approval?.id === first.approvalId),
      10_000,
      'snapshot',
    );

    const list = await client.list(tokens.bob!, { state: 'pending' });
    const listed = list.approvals.find((a) => a.id === first.approvalId);
    expect(listed).toMatchObject({
      state: 'pending',
      requestText: 'TRUNCATE sessions',
      groups: ['dba'],
      approvalsNeeded: 1,
      reasons: ['DDL on connection demo-pg requires approval by dba'],
    });
    expect(listed?.requester?.sub).toBe('alice');
    expect(listed?.connection?.name).toBe('demo-pg');

    const second = gw.waiter.request(ddlRequest({ requestText: 'DROP SCHEMA old CASCADE' }));
    await eventually(
      () => seen.find((m) => m.kind === 'requested' && m.approval?.id === second.approvalId),
      10_000,
      'requested',
    );

    const decided = await client.decide(tokens.bob!, {
      approvalId: first.approvalId,
      verdict: 'approve',
      reason: 'ok',
    });
    expect(decided.approval?.state).toBe('approved');
    expect(decided.approval?.decidedBy?.sub).toBe('bob');
    expect((await first.outcome).outcome).toBe('approved');
    await eventually(
      () => seen.find((m) => m.kind === 'decided' && m.approval?.id === first.approvalId),
      10_000,
      'decided',
    );

    const rejected = await client.decide(tokens.carol!, {
      approvalId: second.approvalId,
      verdict: 'reject',
      reason: 'too broad',
    });
    expect(rejected.approval).toMatchObject({
      state: 'rejected',
      outcome: 'rejected',
      outcomeReason: 'too broad',
    });
    expect((await second.outcome).outcome).toBe('rejected');
    const got = await client.get(tokens.alice!, second.approvalId);
    expect(got.approval?.history.map((h) => h.kind)).toEqual(['requested', 'reviewed', 'decided']);
    stream.cancel();
  });

  it('maps refusals to gRPC status codes', async () => {
    const pending = gw.waiter.request(ddlRequest());
    await folded(service, pending.approvalId);
    const self = await grpcError(
      client.decide(tokens.alice!, { approvalId: pending.approvalId, verdict: 'approve' }),
    );
    expect(self.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(self.details).toMatch(/^GH_ERR_APPROVAL_SELF: self-approval is not allowed/);
    const outsider = await grpcError(
      client.decide(tokens.dave!, { approvalId: pending.approvalId, verdict: 'approve' }),
    );
    expect(outsider.code).toBe(GrpcStatus.PERMISSION_DENIED);
    const noReason = await grpcError(
      client.decide(tokens.bob!, { approvalId: pending.approvalId, verdict: 'reject' }),
    );
    expect(noReason.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const badVerdict = await grpcError(
      client.decide(tokens.bob!, { approvalId: pending.approvalId, verdict: 'maybe' }),
    );
    expect(badVerdict.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const unauth = await grpcError(client.list('not-a-token'));
    expect(unauth.code).toBe(GrpcStatus.UNAUTHENTICATED);
    const missing = await grpcError(client.get(tokens.bob!, 'nope'));
    expect(missing.code).toBe(GrpcStatus.NOT_FOUND);
    await client.decide(tokens.bob!, { approvalId: pending.approvalId, verdict: 'approve' });
    const twice = await grpcError(
      client.decide(tokens.carol!, { approvalId: pending.approvalId, verdict: 'approve' }),
    );
    expect(twice.code).toBe(GrpcStatus.FAILED_PRECONDITION);

    const watchErr = await new Promise<ServiceError>((resolve) => {
      const s = client.watch('bad');
      s.on('error', resolve);
      s.on('data', () => undefined);
    });
    expect(watchErr.code).toBe(GrpcStatus.UNAUTHENTICATED);
  });
});
