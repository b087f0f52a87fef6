import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import { claimsFor, encodePolicyRecord } from '../../services/shared/policy-stream/bundle-record.js';
import { loadPolicyBundle } from '../../services/gateway/policy/load-bundle.js';
import { loadSigningKey } from '../../services/shared/signing/signing-keys.js';
import { pgClient } from '../support/clients.js';
import { buildPolicyBundle, fixtureSessionsTopic, startFixtureGateway } from '../support/gateway.js';
import { testKafka } from '../support/kafka.js';
import {
  policyCli,
  policyCliEnv,
  policyNodeConfig,
  policyTopicNames,
  testPolicyKey,
} from '../support/policy-stream.js';
import { waitFor } from '../support/wait.js';
import { buildPolicy, VALID_DECISION_REGO, writePolicy } from './policy-helpers.js';

/**
 * Policy bundles as a stream, against the stack's Kafka (SASL/TLS, ACLs): `gatehouse policy publish` → every node
 * swaps its engine (sessions stay open), refuses what it cannot verify or load (keeps the last good revision, says
 * so), a node started later loads the newest good revision before it is ready, rollback, status, and publish-time
 * refusals that never reach the nodes.
 */

const work = mkdtempSync(join(tmpdir(), 'gatehouse-policy-stream-'));
const topics = policyTopicNames();
const signer = testPolicyKey();
let idp: RunningIdp;
let env: Record<string, string>;
let revA: string;
let revB: string;
let dirA: string;
let dirB: string;
const nodes: RunningGateway[] = [];
let client: pg.Client | undefined;

function nodeConfig(nodeId: string, bundleDir?: string) {
  return policyNodeConfig({
    nodeId,
    issuer: idp.issuer,
    sessionsTopic: fixtureSessionsTopic('policy-stream'),
    policy: {
      ...(bundleDir ? { bundleDir } : {}),
      stream: {
        topic: topics.policies,
        nodesTopic: topics.nodes,
        groupIdPrefix: 'test-policy-node',
        trustedKeys: { [signer.key.keyId]: signer.pub },
        heartbeatMs: 300,
      },
    },
  });
}

async function startNode(nodeId: string, bundleDir?: string): Promise<RunningGateway> {
  const { gateway } = await startFixtureGateway(nodeConfig(nodeId, bundleDir));
  nodes.push(gateway);
  return gateway;
}

/** Writes a record straight to the topic, as a principal with write access but no say over the signing key might. */
async function writeRaw(key: string, value: Buffer): Promise<void> {
  const producer = testKafka('policy-forger', 'gateway').producer();
  await producer.connect();
  await producer.send({ topic: topics.policies, acks: -1, messages: [{ key, value }] });
  await producer.disconnect();
}

async function selectOne(c: pg.Client): Promise<string> {
  try {
    await c.query('SELECT 1');
    return 'allowed';
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

beforeAll(async () => {
  idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const token = await idp.issueToken({ user: 'pat', groups: ['policy-admins'] });
  env = policyCliEnv({ topics, keyFile: signer.file, keyId: signer.key.keyId, issuer: idp.issuer, token });
  dirA = buildPolicyBundle();
  revA = (await loadPolicyBundle(dirA)).revision;
  dirB = await buildPolicy(work, 'deny-all', `decision := ${VALID_DECISION_REGO}`);
  revB = (await loadPolicyBundle(dirB)).revision;
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  for (const n of nodes) await n.stop(1_000);
  await idp?.stop();
});

describe('gatehouse policy publish → nodes', () => {
  it('a node without a published revision falls back to its bundle folder, then swaps within 2 s of publish; open sessions continue', async () => {
    const node = await startNode('policy-node-1', dirA);
    expect(node.policy.status()).toMatchObject({ revision: revA, source: 'dir' });
    client = await pgClient(
      node.postgresPort!,
      'demo-pg',
      await idp.issueToken({ user: 'agent-1', agent: true }),
    );
    expect(await selectOne(client)).toBe('allowed');

    const published = await policyCli(['publish', dirB, '--message', 'deny everything'], env);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    expect(published.stdout).toContain(`revision ${revB}`);
    const t0 = Date.now();
    await waitFor(
      'revision B on node 1',
      () => Promise.resolve(node.policy.status().revision),
      (r) => r === revB,
      5_000,
    );
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(node.policy.status().source).toBe('stream');
    // The same session, never dropped, is now decided by revision B.
    expect(await selectOne(client)).toMatch(/^refused: .*\br\b/);
  }, 90_000);

  it('refuses a forged record and a signed bundle that does not load: keeps the last good revision and says so', async () => {
    const node = nodes[0]!;
    const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]); // a valid empty wasm module: no OPA exports
    const data = new TextEncoder().encode('{}');
    const base = {
      author: { sub: 'mallory', groups: [] },
      message: 'x',
      publishedAt: Date.now(),
      rollback: false,
    };
    const { privateKey } = generateKeyPairSync('ed25519');
    const forger = loadSigningKey(
      signer.key.keyId,
      privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
    await writeRaw(
      'active',
      encodePolicyRecord(claimsFor({ wasm, data }, { ...base, kind: 'activate' }), { wasm, data }, forger),
    );
    await waitFor(
      'the forged record refused',
      () => Promise.resolve(node.policy.status().refusedTotal),
      (n) => n >= 1,
      10_000,
    );
    expect(node.policy.status().refusals[0]).toMatchObject({ code: 'GH_ERR_POLICY_RECORD_UNVERIFIED' });

    await writeRaw(
      'active',
      encodePolicyRecord(
        claimsFor({ wasm, data }, { ...base, kind: 'activate' }),
        { wasm, data },
        signer.key,
      ),
    );
    await waitFor(
      'the broken bundle refused',
      () => Promise.resolve(node.policy.status().refusedTotal),
      (n) => n >= 2,
      10_000,
    );
    expect(node.policy.status().refusals[0]).toMatchObject({ code: 'GH_ERR_POLICY_WASM_INVALID' });
    expect(node.policy.status().revision).toBe(revB);
    expect(await selectOne(client!)).toMatch(/^refused/);

    // The refusals are on the nodes topic too: `gatehouse policy status` shows them.
    const status = await waitFor(
      'status showing the refusal',
      () => policyCli(['status'], env),
      (s) => s.stdout.includes('GH_ERR_POLICY_WASM_INVALID'),
      10_000,
    );
    expect(status.stdout).toMatch(new RegExp(`policy-node-1\\s+yes\\s+${revB}`));
  }, 60_000);

  it('a node started later loads the newest good revision before it is ready (the newest record is broken)', async () => {
    const node2 = await startNode('policy-node-2'); // no bundle folder: the stream only
    expect(node2.policy.status()).toMatchObject({ revision: revB, source: 'stream' });
    const status = await waitFor(
      'both nodes live',
      () => policyCli(['status', '--json'], env),
      (s) => s.stdout.includes('policy-node-2'),
      10_000,
    );
    const parsed = JSON.parse(status.stdout) as { node: string; live: boolean; revision: string }[];
    expect(parsed.filter((n) => n.live).map((n) => [n.node, n.revision])).toEqual([
      ['policy-node-1', revB],
      ['policy-node-2', revB],
    ]);
  }, 60_000);

  it('rolls back with --revision: every node returns to the old revision', async () => {
    const first = await policyCli(['publish', dirA, '-m', 'the example policy'], env);
    expect(first.code, first.stderr).toBe(0);
    await waitFor(
      'A everywhere',
      () => Promise.resolve(nodes.map((n) => n.policy.status().revision)),
      (r) => r.every((x) => x === revA),
      5_000,
    );
    const back = await policyCli(['publish', '--revision', revB, '-m', 'roll back'], env);
    expect(back.code, back.stderr).toBe(0);
    await waitFor(
      'B everywhere',
      () => Promise.resolve(nodes.map((n) => n.policy.status().revision)),
      (r) => r.every((x) => x === revB),
      5_000,
    );
    expect(await selectOne(client!)).toMatch(/^refused/);
  }, 60_000);

  it('refuses at publish time, and never writes: unsupported built-ins, a wrong entrypoint, invalid data, an unknown revision, a caller outside the group', async () => {
    const before = nodes[0]!.policy.status();
    const builtin = writePolicy(
      work,
      'http-send',
      `decision := x if { x := http.send({"method": "get", "url": "http://x"}) }`,
    );
    const r1 = await policyCli(['publish', builtin], env);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('http.send');
    const wrongEntry = join(work, 'src', 'wrong-entry', 'gatehouse');
    writePolicy(work, 'wrong-entry', '');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      join(wrongEntry, 'main.rego'),
      `package gatehouse.other\n\ndecision := ${VALID_DECISION_REGO}\n`,
    );
    const r2 = await policyCli(['publish', wrongEntry], env);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/entrypoint|gatehouse\/main\/decision/);
    const badData = writePolicy(work, 'bad-data', `decision := ${VALID_DECISION_REGO}`);
    writeFileSync(join(badData, 'data.json'), '[1, 2');
    const r3 = await policyCli(['publish', badData], env);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/data\.json|json/i);
    const r4 = await policyCli(['publish', '--revision', 'ffffffffffffffff'], env);
    expect(r4.code).toBe(1);
    expect(r4.stderr).toContain('GH_ERR_POLICY_REVISION_UNKNOWN');
    const outsider = await idp.issueToken({ user: 'eve', groups: ['dba'] });
    const r5 = await policyCli(['publish', dirA], { ...env, GATEHOUSE_TOKEN: outsider });
    expect(r5.code).toBe(1);
    expect(r5.stderr).toContain('GH_ERR_POLICY_PUBLISH_FORBIDDEN');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(nodes[0]!.policy.status()).toMatchObject({
      revision: before.revision,
      refusedTotal: before.refusedTotal,
    });
  }, 120_000);
});
