import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidedEvent } from '../../services/approval/log/approval-events.js';
import { draftDecision } from '../../services/approval/model/decision.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { kafkaConfigSchema } from '../../services/shared/config/kafka-config.js';
import { encodeEvent } from '../../services/shared/events/codec.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import { createKafka } from '../../services/shared/log/kafka.js';
import { kafkaSecurity } from '../../services/shared/log/kafka-security.js';
import { retryRetriable } from '../../services/shared/log/retry.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import {
  approvalRequestsTopic,
  approvalTestConfig,
  ddlRequest,
  eventually,
  folded,
  startTestApprovalService,
  startTestIdp,
  startTestWaiter,
  testSigningKey,
} from '../support/approval.js';
import { brokerCount, testKafka, testLogger, uniqueTopic } from '../support/kafka.js';
import { kafkaAuthConfig, kafkaBrokers } from '../support/stack.js';
import type { KafkaRole } from '../support/stack.js';

/**
 * The stack's Kafka authenticates every client (SASL/SCRAM-SHA-512 over TLS) and authorizes each service principal
 * by ACLs (deploy/stack/kafka-auth.sh). Production topic names are the defaults of `kafka.topics`.
 */
const defaults = parseConfig(kafkaConfigSchema, { brokers: ['127.0.0.1:1'] }, 'defaults').topics;

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

function clientAs(role: KafkaRole, clientId = `auth-test-${role}`): Kafka {
  return testKafka(clientId, role);
}

/** A client with hand-made security settings (wrong password, no TLS, ...); short timeouts, no retries. */
function rawClient(security: Parameters<typeof createKafka>[0]['security']): Kafka {
  return createKafka({
    brokers: kafkaBrokers(),
    clientId: 'auth-test-raw',
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 5_000,
    ...(security ? { security } : {}),
    logger: testLogger,
  });
}

/** The error kafkajs reports, flattened to its type names / messages (causes and aggregated errors included). */
function describeError(err: unknown): string {
  const parts: string[] = [];
  const walk = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || depth > 5) return;
    const o = e as { name?: string; type?: string; message?: string; cause?: unknown; errors?: unknown[] };
    parts.push([o.name, o.type, o.message].filter(Boolean).join(':'));
    walk(o.cause, depth + 1);
    for (const inner of o.errors ?? []) walk(inner, depth + 1);
  };
  walk(err, 0);
  return parts.join(' | ');
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return describeError(err);
  }
  throw new Error('expected the call to fail');
}

async function sumOfOffsets(topic: string): Promise<bigint> {
  const admin = testKafka('auth-test-offsets').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + BigInt(o.high), 0n);
  } finally {
    await admin.disconnect();
  }
}

async function produceOnce(kafka: Kafka, topic: string, key: string, value: Buffer): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key, value }] });
  } finally {
    await producer.disconnect();
  }
}

let idp: RunningIdp;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  if (!kafkaAuthConfig('admin').sasl) {
    throw new Error(
      '.stack/env has no Kafka credentials: restart the stack (npm run stack:down && npm run stack:up)',
    );
  }
  idp = await startTestIdp();
  cleanups.push(() => idp.stop());
  // The production topics, as a cluster would create them (idempotent; an existing topic is left alone).
  const rf = Math.min(3, brokerCount());
  await ensureTopics(
    testKafka(),
    [defaults.sessions, defaults.approvals, defaults.approvalRequests].map((name) => ({
      name,
      partitions: defaults.partitions,
      replicationFactor: rf,
      minInsyncReplicas: rf >= 3 ? 2 : 1,
    })),
  );
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('authentication', () => {
  it('refuses a plaintext client on the broker port (TLS is required)', async () => {
    const admin = rawClient(undefined).admin({ retry: { retries: 0 } });
    const err = await failure(admin.connect().then(() => admin.listTopics()));
    await admin.disconnect();
    expect(err).toMatch(/Connection|closed|timeout|ECONNRESET|EPIPE/i);
  });

  it('refuses a TLS client without SASL credentials', async () => {
    const { ssl } = kafkaSecurity({ brokers: kafkaBrokers(), ...kafkaAuthConfig('admin') });
    const admin = rawClient({ ...(ssl ? { ssl } : {}) }).admin({ retry: { retries: 0 } });
    const err = await failure(admin.connect().then(() => admin.listTopics()));
    await admin.disconnect();
    expect(err).toMatch(/Connection|closed|timeout|ECONNRESET|authentication/i);
  });

  it('refuses a wrong password with a SASL authentication error', async () => {
    const security = kafkaSecurity({ brokers: kafkaBrokers(), ...kafkaAuthConfig('gateway') });
    const admin = rawClient({
      ...security,
      sasl: { mechanism: 'scram-sha-512', username: 'gateway', password: 'not-the-password' },
    }).admin({ retry: { retries: 0 } });
    const err = await failure(admin.connect());
    await admin.disconnect();
    expect(err).toMatch(/SASL|Authentication failed/i);
  });

  it('refuses a client that does not trust the stack CA (the broker certificate is verified)', async () => {
    const { sasl } = kafkaSecurity({ brokers: kafkaBrokers(), ...kafkaAuthConfig('gateway') });
    const admin = rawClient({ ssl: { rejectUnauthorized: true }, ...(sasl ? { sasl } : {}) }).admin({
      retry: { retries: 0 },
    });
    const err = await failure(admin.connect());
    await admin.disconnect();
    expect(err).toMatch(/certificate|self.signed|unable to verify/i);
  });
});

describe('authorization (ACLs per service principal)', () => {
  it('a gateway cannot write a decision to the approvals log', async () => {
    const before = await sumOfOffsets(defaults.approvals);
    const forged = Buffer.from(`forged decision ${randomUUID()}`);
    const err = await failure(produceOnce(clientAs('gateway'), defaults.approvals, randomUUID(), forged));
    expect(err).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(await sumOfOffsets(defaults.approvals)).toBe(before);
  });

  it('a recorder cannot write session events, nor to any test topic it reads', async () => {
    const topic = await uniqueTopic('auth-recorder');
    for (const t of [defaults.sessions, topic]) {
      const before = await sumOfOffsets(t);
      const err = await failure(produceOnce(clientAs('recorder'), t, 'k', Buffer.from('x')));
      expect(err).toContain('TOPIC_AUTHORIZATION_FAILED');
      expect(await sumOfOffsets(t)).toBe(before);
    }
  });

  it('a recorder cannot delete a topic, and a gateway cannot use the recorder consumer group', async () => {
    const topic = await uniqueTopic('auth-delete');
    const admin = clientAs('recorder').admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      expect(await failure(admin.deleteTopics({ topics: [topic], timeout: 5_000 }))).toContain(
        'TOPIC_AUTHORIZATION_FAILED',
      );
    } finally {
      await admin.disconnect();
    }
    // The recorder reads its group's offsets; a gateway is refused (kafkajs reports the refused FindCoordinator
    // as "coordinator not found", so the recorder's success is the control).
    const fetchAs = async (role: KafkaRole, retries: number) => {
      const a = clientAs(role).admin({ retry: { retries, initialRetryTime: 300 } });
      await a.connect();
      try {
        return await a.fetchOffsets({ groupId: 'gatehouse-recorder', topics: [defaults.sessions] });
      } finally {
        await a.disconnect();
      }
    };
    expect((await retryRetriable(() => fetchAs('recorder', 0)))[0]?.topic).toBe(defaults.sessions);
    expect(await failure(fetchAs('gateway', 0))).toMatch(
      /GROUP_AUTHORIZATION_FAILED|GroupCoordinatorNotFound/,
    );
    const admin2 = testKafka('auth-test-list').admin();
    await admin2.connect();
    try {
      expect(await admin2.listTopics()).toContain(topic); // still there
    } finally {
      await admin2.disconnect();
    }
  });

  it('only the approval principal may write the approvals log; gateways write requests and sessions', async () => {
    const admin = testKafka('auth-test-acls').admin();
    await admin.connect();
    try {
      const writers = async (topic: string) => {
        const { resources } = await admin.describeAcls({
          resourceType: AclResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.MATCH,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        });
        return resources
          .filter((r) => r.resourcePatternType === ResourcePatternTypes.LITERAL)
          .flatMap((r) =>
            r.acls
              .filter(
                (a) =>
                  (a.operation === AclOperationTypes.WRITE || a.operation === AclOperationTypes.ALL) &&
                  a.permissionType === AclPermissionTypes.ALLOW,
              )
              .map((a) => a.principal),
          )
          .sort();
      };
      expect(await writers(defaults.approvals)).toEqual(['User:approval']);
      expect(await writers(defaults.approvalRequests)).toEqual(['User:gateway']);
      expect(await writers(defaults.sessions)).toEqual(['User:gateway']);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('approval request relay', () => {
  let topic: string;
  let service: RunningApprovalService;
  let gw: Awaited<ReturnType<typeof startTestWaiter>>;

  beforeAll(async () => {
    topic = await uniqueTopic('auth-approvals');
    service = await startTestApprovalService(approvalTestConfig({ topic, idp }));
    cleanups.push(() => service.stop({ timeoutMs: 5_000 }));
    gw = await startTestWaiter({ topic, approvalUrl: service.url });
    cleanups.push(() => gw.stop());
  });

  it('relays a gateway request into the approvals log; a decision a gateway writes to the requests topic is dropped', async () => {
    const pending = gw.waiter.request(ddlRequest({ fingerprint: 'a'.repeat(64) }));
    expect(await pending.published).toBe(true);
    const record = await folded(service, pending.approvalId);
    expect(record.decision).toBeUndefined();
    // A gateway principal puts a decision (even one signed with the approval service's key) on the topic it may
    // write: decisions never come from there.
    const forged = decidedEvent(record, 'forger', draftDecision(record, 'expired'), testSigningKey().key);
    await produceOnce(
      clientAs('gateway'),
      approvalRequestsTopic(topic),
      pending.approvalId,
      Buffer.from(encodeEvent(forged)),
    );
    const metrics = async () => {
      const res = await fetch(`http://127.0.0.1:${service.healthPort}/metrics`);
      const m = /gatehouse_approval_requests_relayed_total\{result="dropped"\} (\d+)/.exec(await res.text());
      return m && Number(m[1]) >= 1 ? Number(m[1]) : undefined;
    };
    expect(await eventually(metrics, 20_000, 'the relay to drop the forged record')).toBe(1);
    // Nothing but the relayed request reached the approvals log for this approval; it is still pending.
    expect(service.store.get(pending.approvalId)?.decision).toBeUndefined();
    expect(service.store.get(pending.approvalId)?.history.map((h) => h.kind)).toEqual(['requested']);
    gw.waiter.cancel(pending.approvalId);
  });
});
