import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import {
  ApprovalDecidedSchema,
  ConnectionSchema,
  EventSchema,
} from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../proto/gen/gatehouse/v1/events_pb.js';
import { parseApprovalConfig } from '../../services/approval/config.js';
import type { ApprovalConfig, ApprovalConfigInput } from '../../services/approval/config.js';
import { buildApproval } from '../../services/approval/service.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import type { ApprovalView } from '../../services/approval/model/view.js';
import type { ApprovalRecord } from '../../services/approval/model/types.js';
import { toProtoIdentity } from '../../services/shared/events/proto-identity.js';
import { claimsFromEvent } from '../../services/shared/signing/decision-claims.js';
import { signDecision } from '../../services/shared/signing/decision-signature.js';
import { ApprovalWaiter } from '../../services/gateway/approvals/approval-waiter.js';
import type { ApprovalRequestOptions } from '../../services/gateway/approvals/approval-waiter.js';
import { startIdp } from '../../dev/idp/start-idp.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import type { Identity } from '../../services/shared/identity/identity.js';
import { KafkaEventLog } from '../../services/shared/log/kafka-event-log.js';
import { KafkaPublisher } from '../../services/shared/log/publisher.js';
import {
  loadSigningKey,
  loadTrustedKeys,
  publicKeyText,
} from '../../services/shared/signing/signing-keys.js';
import type { SigningKey, TrustedKeys } from '../../services/shared/signing/signing-keys.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { brokerCount, testKafka, testLogger } from './kafka.js';
import { kafkaConnection } from './stack.js';

/** The approval-requests topic that goes with a test's approvals topic. */
export function approvalRequestsTopic(approvalsTopic: string): string {
  return `${approvalsTopic}.requests`;
}

/** Creates the approval-requests topic of `approvalsTopic` (as admin; idempotent). */
export async function ensureApprovalRequestsTopic(approvalsTopic: string): Promise<string> {
  const name = approvalRequestsTopic(approvalsTopic);
  const rf = Math.min(3, brokerCount());
  await ensureTopics(testKafka(), [
    { name, partitions: 6, replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
  ]);
  return name;
}

export const AUDIENCE = 'gatehouse';

/** The approval service's dev signing key: its PEM file (a `{file: ...}` reference), id and public key. */
export type TestSigningKey = {
  readonly keyId: string;
  readonly privateKeyFile: string;
  /** Raw base64url public key, as `approvals.trustedKeys` takes it. */
  readonly publicKey: string;
  readonly key: SigningKey;
};

let devKey: TestSigningKey | undefined;

/** Generates an Ed25519 key pair once per test process (PKCS#8 PEM in a private temp file, mode 600). */
export function testSigningKey(): TestSigningKey {
  if (devKey) return devKey;
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const privateKeyFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-signing-')), 'approval-signing.key');
  writeFileSync(privateKeyFile, pem, { mode: 0o600 });
  const key = loadSigningKey('test-approval-1', pem);
  devKey = { keyId: key.keyId, privateKeyFile, publicKey: publicKeyText(key), key };
  return devKey;
}

/** `approvals.trustedKeys` for a gateway that trusts the test approval service. */
export function testTrustedKeys(): Record<string, string> {
  const k = testSigningKey();
  return { [k.keyId]: k.publicKey };
}

/**
 * A producer with the credentials of a principal that IS allowed to write to the approvals topic: the approval
 * service's own SASL principal. Forged decisions in tests come from here, so signatures are what stops them.
 */
export function approvalTopicWriter(): KafkaPublisher {
  const publisher = new KafkaPublisher(testKafka('test-approval-principal', 'approval'), testLogger, {
    durableTimeoutMs: 15_000,
  });
  publisher.start();
  return publisher;
}

export function startTestIdp(): Promise<RunningIdp> {
  return startIdp({ port: 0, audience: AUDIENCE });
}

/** A validated approval-service config for one test: ephemeral ports, the given topic, no provisioning. */
export function approvalTestConfig(opts: {
  topic: string;
  idp: RunningIdp;
  instanceId?: string;
  webhooks?: ApprovalConfigInput['webhooks'];
  notifyGroupId?: string;
  limits?: ApprovalConfigInput['limits'];
  notify?: ApprovalConfigInput['notify'];
  signing?: ApprovalConfigInput['signing'];
  web?: ApprovalConfigInput['web'];
}): ApprovalConfig {
  const key = testSigningKey();
  return parseApprovalConfig({
    instanceId: opts.instanceId ?? `approval-test-${randomUUID().slice(0, 8)}`,
    logLevel: 'silent',
    kafka: {
      ...kafkaConnection('approval'),
      clientId: 'gatehouse-test',
      topics: {
        approvals: opts.topic,
        approvalRequests: approvalRequestsTopic(opts.topic),
        provision: false,
      },
      publisher: { durableTimeoutMs: 15_000 },
    },
    oidc: { issuer: opts.idp.issuer, audience: AUDIENCE },
    signing: opts.signing ?? { keyId: key.keyId, privateKey: { file: key.privateKeyFile } },
    http: { port: 0 },
    grpc: { port: 0 },
    health: { port: 0 },
    // One relay group per approvals topic: the instances of one test share it, as production instances do.
    relay: { groupId: `test-relay-${opts.topic}` },
    webhooks: opts.webhooks ?? [],
    notify: {
      groupId: opts.notifyGroupId ?? `test-notify-${randomUUID()}`,
      backoffMs: 100,
      maxBackoffMs: 500,
      ...opts.notify,
    },
    limits: { sweepIntervalMs: 200, expiryJitterMs: 0, decideGraceMs: 2_000, ...opts.limits },
    ...(opts.web ? { web: opts.web } : {}),
  });
}

/** Starts an instance and waits until it has read the approval log. */
export async function startTestApprovalService(config: ApprovalConfig): Promise<RunningApprovalService> {
  await ensureApprovalRequestsTopic(config.kafka.topics.approvals);
  const service = await buildApproval(config, { logger: testLogger }).start();
  await service.ready;
  return service;
}

/** A gateway-side waiter (with its own publisher) on `topic`, subscribed. */
export async function startTestWaiter(opts: {
  topic: string;
  approvalUrl: string;
  nodeId?: string;
  logTimeoutMs?: number;
  trustedKeys?: TrustedKeys;
}) {
  const requestTopic = await ensureApprovalRequestsTopic(opts.topic);
  const publisher = new KafkaPublisher(testKafka('test-gateway', 'gateway'), testLogger, {
    durableTimeoutMs: 15_000,
  });
  publisher.start();
  const waiter = new ApprovalWaiter({
    eventLog: new KafkaEventLog(testKafka('test-gateway', 'gateway')),
    publisher,
    log: testLogger,
    topic: opts.topic,
    requestTopic,
    nodeId: opts.nodeId ?? `gw-test-${randomUUID().slice(0, 8)}`,
    approvalUrl: opts.approvalUrl,
    trustedKeys: opts.trustedKeys ?? loadTrustedKeys(testTrustedKeys()),
    ...(opts.logTimeoutMs === undefined ? {} : { logTimeoutMs: opts.logTimeoutMs }),
  });
  await waiter.start();
  return {
    waiter,
    publisher,
    async stop() {
      await waiter.stop();
      await publisher.close(5_000);
    },
  };
}

export const identity = (sub: string, groups: string[] = [], agent = false): Identity => ({
  sub,
  email: `${sub}@example.test`,
  groups,
  agent,
  issuer: 'http://idp.test',
  client_id: 'gatehouse-dev',
});

/** Request options for a DDL statement by `alice` (an agent) on demo-pg, approvable by `dba`. */
export function ddlRequest(over: Partial<ApprovalRequestOptions> = {}): ApprovalRequestOptions {
  return {
    sessionId: randomUUID(),
    requester: identity('alice', ['dev'], true),
    connection: { name: 'demo-pg', tags: { env: 'prod' } },
    protocol: 'postgres',
    requestText: 'DROP TABLE audit_log',
    fingerprint: 'a'.repeat(64),
    reasons: ['DDL on connection demo-pg requires approval by dba'],
    groups: ['dba'],
    approvalsNeeded: 1,
    ttlSeconds: 60,
    reuseSeconds: 300,
    requestId: 1,
    ...over,
  };
}

export type ApiResult<T = Record<string, unknown>> = { status: number; body: T };

/** One JSON call to the approval HTTP API. */
export async function api<
  T = { approval: ApprovalView; approvals: ApprovalView[]; error: { code: string; message: string } },
>(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<ApiResult<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as T };
}

/** Polls until `check` returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until `service` has folded the approval `id` (it arrives through Kafka). */
export function folded(service: RunningApprovalService, id: string, timeoutMs = 20_000) {
  return eventually(() => service.store.get(id), timeoutMs, `approval ${id} to be folded`);
}

/**
 * An `approval.decided` for `r` as an attacker with write access to the approvals topic writes it: approved by
 * `reviewer`, optionally signed with `key`; `claimsOf` replays another request's session, request id and digest.
 */
export function forgedDecision(
  r: ApprovalRecord,
  opts: { reviewer: Identity; key?: SigningKey; claimsOf?: ApprovalRecord },
): Event {
  const { reviewer } = opts;
  const src = opts.claimsOf ?? r; // a replay carries another request's session, request id and digest
  const event = create(EventSchema, {
    eventId: randomUUID(),
    sessionId: `approval:${r.request.id}`,
    seq: 2n,
    nodeId: 'approval-instance-x',
    tsMicros: BigInt(Date.now()) * 1000n,
    identity: toProtoIdentity(src.request.requester),
    connection: create(ConnectionSchema, { name: src.request.connection.name, protocol: 'postgres' }),
    protocol: 'postgres',
    body: {
      case: 'approvalDecided',
      value: create(ApprovalDecidedSchema, {
        approvalId: r.request.id,
        outcome: 'approved',
        reviewer: toProtoIdentity(reviewer),
        approvers: [toProtoIdentity(reviewer)],
        approverGroups: ['dba'],
        requestId: src.request.requestId,
        requestHash: src.request.fingerprint,
        reuseSeconds: 3600,
        sessionId: src.request.sessionId,
        nodeId: src.request.nodeId,
        decidedMicros: BigInt(Date.now()) * 1000n,
        expiresMicros: src.request.expiresMicros,
        requestDigest: src.request.digest,
      }),
    },
  });
  if (opts.key && event.body.case === 'approvalDecided') {
    const s = signDecision(claimsFromEvent(event)!, opts.key);
    event.body.value.keyId = s.keyId;
    event.body.value.signature = s.signature;
  }
  return event;
}
