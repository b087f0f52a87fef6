import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { ApprovalGrpcClient } from '../../services/approval/grpc/grpc-client.js';
import type { ApprovalRecord } from '../../services/approval/model/types.js';
import { decodeRecord, encodeEvent } from '../../services/shared/events/codec.js';
import type { Identity } from '../../services/shared/identity/identity.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import type { KafkaPublisher } from '../../services/shared/log/publisher.js';
import { verifyDecisionSignature } from '../../services/shared/signing/decision-signature.js';
import { loadSigningKey, loadTrustedKeys } from '../../services/shared/signing/signing-keys.js';
import type { SigningKey } from '../../services/shared/signing/signing-keys.js';
import {
  api,
  approvalTopicWriter,
  ddlRequest,
  eventually,
  forgedDecision,
  testSigningKey,
  testTrustedKeys,
} from '../support/approval.js';
import { buildApprovalRequest } from '../../services/gateway/approvals/requested-event.js';
import type { PsqlResult } from '../support/clients.js';
import { psql } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { testKafka, testLogger } from '../support/kafka.js';

/**
 * Approval decisions carry their own proof (issue 9): a principal that IS allowed to write the approvals topic
 * (today any client of the shared stack; `approvalTopicWriter` is the one place that will use the approval service's
 * credentials once Kafka has ACLs) cannot resume a held DDL with a forged, re-signed, unknown-key, wrong-reviewer or
 * replayed decision. Every attempt is a security event on the session stream; a real approval afterwards resumes
 * it. A requester that goes away leaves an `abandoned` approval that reviewers can no longer approve (409).
 */
let fx: GatewayFixture;
let writer: KafkaPublisher;
let requester: string;
let dba: string;
let grpc: ApprovalGrpcClient;
let approvalsTopic: string;

beforeAll(async () => {
  fx = await startGatewayFixture({ approvals: true });
  approvalsTopic = `${fx.sessionsTopic}.approvals`;
  writer = approvalTopicWriter();
  requester = await fx.idp.issueToken({ user: 'alice', email: 'alice@example.com', groups: ['engineering'] });
  dba = await fx.idp.issueToken({ user: 'dora', email: 'dora@example.com', groups: ['dba'] });
  grpc = new ApprovalGrpcClient({ address: fx.approval!.grpcAddress, timeoutMs: 20_000 });
});

afterAll(async () => {
  grpc?.close();
  await writer?.close(5_000);
  await fx?.stop();
});

/** The approval service's record of the pending approval whose request text contains `needle`. */
function pendingRecord(needle: string): Promise<ApprovalRecord> {
  return eventually(
    () => {
      for (const r of fx.approval!.store.records()) {
        if (!r.decision && r.request.text.includes(needle)) return r;
      }
      return undefined;
    },
    30_000,
    `pending approval for ${needle}`,
  );
}

/** psql as a child process we can kill (the requester going away). */
function heldPsql(sql: string): { done: Promise<PsqlResult>; kill: () => void; exited: () => boolean } {
  const port = fx.pgPort;
  const args = [
    `host=127.0.0.1 port=${port} dbname=demo-pg user=gatehouse sslmode=require`,
    '-X',
    '-A',
    '-t',
    '-c',
    sql,
  ];
  const child = spawn('psql', args, {
    env: { ...process.env, PGPASSWORD: requester, PGCONNECT_TIMEOUT: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<PsqlResult>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      resolve({ status: code ?? -1, stdout, stderr });
    }),
  );
  return { done, kill: () => child.kill('SIGKILL'), exited: () => exited };
}

const person = (sub: string, groups: string[]): Identity => ({
  sub,
  email: `${sub}@example.com`,
  groups,
  agent: false,
  issuer: fx.idp.issuer,
  client_id: 'gatehouse-dev',
});

/** A forged `approval.decided` for `r`, approved by dora (dba) unless `opts.reviewer` says otherwise. */
const forged = (
  r: ApprovalRecord,
  opts: { reviewer?: Identity; key?: SigningKey; claimsOf?: ApprovalRecord } = {},
): Event => forgedDecision(r, { ...opts, reviewer: opts.reviewer ?? person('dora', ['dba']) });

async function publish(approvalId: string, event: Event | Uint8Array): Promise<void> {
  const value = Buffer.from(event instanceof Uint8Array ? event : encodeEvent(event));
  await writer.publishDurable({ topic: approvalsTopic, key: approvalId, value });
}

/** Events of one session's stream in the sessions topic matching `pick`, once at least `minimum` arrived. */
async function sessionStream<T>(
  sessionId: string,
  pick: (e: Event) => T | undefined,
  minimum: number,
): Promise<T[]> {
  const found: T[] = [];
  const consumer = new EventConsumer(testKafka('test-session-reader'), testLogger, {
    groupId: `session-reader-${randomUUID()}`,
    topics: [fx.sessionsTopic],
  });
  void consumer.start((records) => {
    for (const r of records) {
      for (const e of decodeRecord(r.value)) {
        const v = e.sessionId === sessionId ? pick(e) : undefined;
        if (v !== undefined) found.push(v);
      }
    }
    return Promise.resolve();
  });
  const deadline = Date.now() + 30_000;
  while (found.length < minimum && Date.now() < deadline) await sleep(200);
  await consumer.stop();
  return found;
}

const securityEvents = (sessionId: string, minimum: number) =>
  sessionStream(sessionId, (e) => (e.body.case === 'security' ? e.body.value : undefined), minimum);

let approvedEarlier: ApprovalRecord | undefined;

describe('signed approval decisions', () => {
  it('a genuine, signed approval resumes a held DDL', async () => {
    const table = `gh_sig_ok_${Date.now()}`;
    const run = psql(fx.pgPort, 'demo-pg', requester, [`create table ${table} (id int)`]);
    const r = await pendingRecord(table);
    const ok = await api(fx.approval!.url, 'POST', `/v1/approvals/${r.request.id}/approve`, dba);
    expect(ok.status).toBe(200);
    expect((await run).stdout.trim()).toBe('CREATE TABLE');
    approvedEarlier = fx.approval!.store.get(r.request.id);
    expect(approvedEarlier?.decision?.outcome).toBe('approved');
    // The session stream records the decision exactly as signed: anyone with the public key can check it later.
    const [recorded] = await sessionStream(
      r.request.sessionId,
      (e) =>
        e.body.case === 'approvalDecided' ? { ...e, sessionId: `approval:${r.request.id}` } : undefined,
      1,
    );
    expect(recorded).toBeDefined();
    const verified = verifyDecisionSignature(recorded!, loadTrustedKeys(testTrustedKeys()));
    expect(verified).toMatchObject({
      ok: true,
      claims: { approvalId: r.request.id, outcome: 'approved', keyId: testSigningKey().keyId },
    });
  });

  it('forged, re-signed, unknown-key, wrong-reviewer and replayed decisions are refused and recorded', async () => {
    expect(approvedEarlier).toBeDefined();
    const earlier = approvedEarlier!;
    const table = `gh_sig_forged_${Date.now()}`;
    const held = heldPsql(`create table ${table} (id int)`);
    const r = await pendingRecord(table);
    const genuine = testSigningKey();
    const otherPem = () =>
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const attempts: [string, Event][] = [
      ['unsigned', forged(r)],
      ['bad_signature', forged(r, { key: loadSigningKey(genuine.keyId, otherPem()) })],
      ['unknown_key', forged(r, { key: loadSigningKey('attacker-1', otherPem()) })],
      // Signed with the pinned key itself, but the approver is not in the rule's group (dba).
      ['reviewer_not_allowed', forged(r, { key: genuine.key, reviewer: person('eve', ['engineering']) })],
      // A valid signature by the pinned key over the earlier request's session, request id and digest.
      ['wrong_request', forged(r, { key: genuine.key, claimsOf: earlier })],
    ];
    for (const [, e] of attempts) await publish(r.request.id, e);
    const events = await securityEvents(r.request.sessionId, attempts.length);
    expect(events.map((e) => e.code).sort()).toEqual(attempts.map(([code]) => code).sort());
    for (const e of events) {
      expect(e).toMatchObject({
        kind: 'approval_decision_refused',
        approvalId: r.request.id,
        requestId: r.request.requestId,
        claimedNodeId: 'approval-instance-x',
        claimedOutcome: 'approved',
      });
      expect(e.source).toMatch(new RegExp(`^${approvalsTopic.replace(/\./g, '\\.')}/\\d+@\\d+$`));
    }
    // Nothing resumed: psql still waits, the approval service still shows it pending (its fold refuses them too).
    await sleep(1_000);
    expect(held.exited()).toBe(false);
    const still = fx.approval!.store.get(r.request.id)!;
    expect(still.decision).toBeUndefined();
    expect(still.history.filter((h) => h.kind === 'decided').map((h) => h.ignored)).toEqual(
      attempts.map(() => expect.stringMatching(/^not a valid signed decision/) as unknown),
    );
    expect(fx.logs.some((l) => l.includes('approval decision refused'))).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${fx.gateway.healthPort}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_gateway_approval_decisions_refused_total\{code="unsigned"\} [1-9]/);

    // A real approval afterwards still resumes it.
    const ok = await api(fx.approval!.url, 'POST', `/v1/approvals/${r.request.id}/approve`, dba);
    expect(ok.status).toBe(200);
    const result = await held.done;
    expect(result.stdout.trim()).toBe('CREATE TABLE');
  });

  it('a requester that goes away leaves an abandoned approval; late approve answers 409 (gRPC FAILED_PRECONDITION)', async () => {
    const table = `gh_sig_gone_${Date.now()}`;
    const held = heldPsql(`create table ${table} (id int)`);
    const r = await pendingRecord(table);
    held.kill();
    await held.done;
    const view = await eventually(
      async () => {
        const res = await api(fx.approval!.url, 'GET', `/v1/approvals/${r.request.id}`, dba);
        return res.body.approval?.state === 'abandoned' ? res.body.approval : undefined;
      },
      20_000,
      'abandoned state',
    );
    expect(view.decision).toMatchObject({ outcome: 'abandoned', reviewer: null });
    expect(view.decision?.reason).toMatch(/client/);
    const late = await api(fx.approval!.url, 'POST', `/v1/approvals/${r.request.id}/approve`, dba);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({
      code: 'GH_ERR_APPROVAL_CONFLICT',
      message: 'the request was already abandoned',
    });
    const reject = await api(fx.approval!.url, 'POST', `/v1/approvals/${r.request.id}/reject`, dba, {
      reason: 'too late',
    });
    expect(reject.status).toBe(409);
    const grpcErr = await grpc.decide(dba, { approvalId: r.request.id, verdict: 'approve' }).then(
      () => undefined,
      (err: unknown) => err as ServiceError,
    );
    expect(grpcErr?.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    const got = await grpc.get(dba, r.request.id);
    expect(got.approval?.state).toBe('abandoned');
    const list = await api(fx.approval!.url, 'GET', '/v1/approvals?state=abandoned', dba);
    expect(list.body.approvals.map((a) => a.id)).toContain(r.request.id);
    // The table was never created.
    const check = await psql(fx.pgPort, 'demo-pg', dba, [`select to_regclass('${table}') is null`]);
    expect(check.stdout.trim()).toBe('t');
  });

  it('an approval whose gateway node died (no notice at all) ends abandoned after its expiry', async () => {
    const approvalId = randomUUID();
    const nowMicros = BigInt(Date.now()) * 1000n;
    const { event } = buildApprovalRequest(ddlRequest({ ttlSeconds: 1 }), {
      approvalId,
      approveUrl: `${fx.approval!.url}/approvals/${approvalId}`,
      nodeId: 'gw-that-died',
      nowMicros,
      ttlMs: 1_000,
      holdLeaseMs: 0, // no lease at all (as from an older node): the expiry and its grace end it
      maxTextLength: 1_000,
    });
    await publish(approvalId, event); // what the node published just before it died
    const view = await eventually(
      async () => {
        const res = await api(fx.approval!.url, 'GET', `/v1/approvals/${approvalId}`, dba);
        return res.body.approval?.state === 'pending' || res.status !== 200 ? undefined : res.body.approval;
      },
      20_000,
      'a final state',
    );
    expect(view.state).toBe('abandoned');
    expect(view.decision?.reason).toMatch(/gw-that-died stopped/);
    const late = await api(fx.approval!.url, 'POST', `/v1/approvals/${approvalId}/approve`, dba);
    expect(late.status).toBe(409);
  });
});
