import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import type { RunningGateway } from '../../services/gateway/gateway.js';
import { loadPolicyBundle } from '../../services/gateway/policy/load-bundle.js';
import type { PolicyEngine } from '../../services/gateway/policy/engine.js';
import type { PolicyInput } from '../../services/gateway/policy/types.js';
import type { Recorder } from '../../services/recorder/recorder.js';
import { sql } from '../../services/recorder/clickhouse/quote.js';
import { ensureTopics } from '../../services/shared/log/topics.js';
import { pgClient } from '../support/clients.js';
import { brokerCount, testKafka } from '../support/kafka.js';
import { testDatabase } from '../support/clickhouse.js';
import {
  buildPolicyBundle,
  fixtureSessionsTopic,
  startFixtureGateway,
  startFixtureRecorder,
} from '../support/gateway.js';
import {
  policyCli,
  policyCliEnv,
  policyNodeConfig,
  policyTopicNames,
  testPolicyKey,
} from '../support/policy-stream.js';
import { PROJECT_ROOT, stackEnv } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { VALID_DECISION_REGO, writePolicy } from './policy-helpers.js';

/**
 * Every recorded request's exact policy input is rebuilt from the record (`gatehouse policy input`), evaluates to
 * the recorded decision (`gatehouse policy eval`), and a candidate is backtested against the recording
 * (`gatehouse policy backtest`); a shadow revision's differing decisions are summarised (`gatehouse policy diff`).
 */

const work = mkdtempSync(join(tmpdir(), 'gatehouse-policy-backtest-'));
const topics = policyTopicNames();
const signer = testPolicyKey();
const sessionsTopic = fixtureSessionsTopic('policy-backtest');
let idp: RunningIdp;
let db: Awaited<ReturnType<typeof testDatabase>>;
let recorder: Recorder;
let env: Record<string, string>;
let dirA: string;
let denyAllSrc: string;
const nodes: RunningGateway[] = [];
const captured: PolicyInput[] = [];

function nodeConfig(nodeId: string, policy: object) {
  return policyNodeConfig({ nodeId, issuer: idp.issuer, sessionsTopic, policy });
}

/** Runs statements as `user` through `node`; returns each one's outcome. */
async function run(node: RunningGateway, token: string, statements: string[]): Promise<string[]> {
  const c = await pgClient(node.postgresPort!, 'demo-pg', token);
  const out: string[] = [];
  for (const s of statements) {
    try {
      await c.query(s);
      out.push('ok');
    } catch (err) {
      out.push((err as Error).message);
    }
  }
  await c.end();
  return out;
}

async function recordedDecisions(kind: string): Promise<{ session_id: string; request_id: number }[]> {
  return db.ch.query<{ session_id: string; request_id: number }>(
    sql`SELECT session_id, request_id FROM events WHERE kind = ${kind} LIMIT 1 BY event_id`,
  );
}

beforeAll(async () => {
  idp = await startIdp({ port: 0, audience: 'gatehouse' });
  db = await testDatabase();
  const token = await idp.issueToken({ user: 'pat', groups: ['policy-admins'] });
  const e = stackEnv();
  env = {
    ...policyCliEnv({ topics, keyFile: signer.file, keyId: signer.key.keyId, issuer: idp.issuer, token }),
    GATEHOUSE_CLICKHOUSE_URL: db.opts.url,
    GATEHOUSE_CLICKHOUSE_USER: db.opts.username,
    ...(e.GATEHOUSE_CLICKHOUSE_PASSWORD_FILE
      ? { GATEHOUSE_CLICKHOUSE_PASSWORD_FILE: e.GATEHOUSE_CLICKHOUSE_PASSWORD_FILE }
      : {}),
    GATEHOUSE_CLICKHOUSE_DATABASE: db.opts.database,
  };
  dirA = buildPolicyBundle();
  denyAllSrc = writePolicy(work, 'deny-all', `decision := ${VALID_DECISION_REGO}`);
  const rf = Math.min(3, brokerCount());
  await ensureTopics(
    testKafka(),
    [sessionsTopic, `${sessionsTopic}.approvals`].map((name) => ({
      name,
      partitions: 6,
      replicationFactor: rf,
      minInsyncReplicas: rf >= 3 ? 2 : 1,
    })),
  );
  recorder = await startFixtureRecorder({ sessionsTopic, idp }, 'policy-backtest', db.opts);
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.stop(1_000);
  await recorder?.stop();
  await db?.drop();
  await idp?.stop();
});

describe('recorded policy inputs', () => {
  it('rebuilds the exact input of every recorded request, which evaluates to the recorded decision', async () => {
    const a = await loadPolicyBundle(dirA);
    const capturing: PolicyEngine = {
      revision: a.revision,
      entrypoint: a.entrypoint,
      evaluate: (input) => {
        captured.push(JSON.parse(JSON.stringify(input)) as PolicyInput);
        return a.evaluate(input);
      },
    };
    const { gateway } = await startFixtureGateway(nodeConfig('capture-node', { bundleDir: dirA }), {
      policy: capturing,
    });
    nodes.push(gateway);
    const agent = await idp.issueToken({ user: 'agent-1', agent: true });
    const person = await idp.issueToken({ user: 'dora', groups: ['dev'], email: 'dora@example.test' });
    expect(await run(gateway, agent, ['SELECT 1', 'DELETE FROM pg_class'])).toEqual([
      'ok',
      expect.stringContaining(''),
    ]);
    const outcomes = await run(gateway, person, ['SELECT 2', 'CREATE TABLE gh_backtest_x (id int)']);
    expect(outcomes[0]).toBe('ok');
    expect(captured.length).toBeGreaterThanOrEqual(4);
    await waitFor(
      'the decisions in ClickHouse',
      () => recordedDecisions('decision'),
      (r) => r.length >= captured.length,
      30_000,
    );

    for (const want of captured) {
      const rows = await recordedDecisions('decision');
      const mine = rows.filter((r) => r.session_id === want.session.id);
      expect(mine.length).toBeGreaterThan(0);
      const requestId = captured.filter((c) => c.session.id === want.session.id).indexOf(want);
      const row = [...mine].sort((x, y) => x.request_id - y.request_id)[requestId]!;
      const printed = await policyCli(['input', want.session.id, String(row.request_id)], env);
      expect(printed.stderr).toBe('');
      expect(JSON.parse(printed.stdout)).toEqual(want);
      const file = join(work, `input-${want.session.id}-${row.request_id}.json`);
      writeFileSync(file, printed.stdout);
      const evaluated = await policyCli(['eval', '--input', file, '--bundle', dirA], env);
      expect(JSON.parse(evaluated.stdout).decision).toEqual(a.evaluate(want).decision);
    }
  }, 120_000);

  it('backtests a candidate against the recording: what would change, and --fail-on-change', async () => {
    const same = await policyCli(
      [
        'backtest',
        '--bundle',
        join(PROJECT_ROOT, 'policies', 'gatehouse'),
        '--since',
        '1h',
        '--json',
        '--fail-on-change',
      ],
      env,
    );
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    const s = JSON.parse(same.stdout) as { total: number; unchanged: number; skipped: number };
    expect(s.total).toBeGreaterThanOrEqual(4);
    expect(s.unchanged).toBe(s.total);

    const denyAll = await policyCli(
      ['backtest', '--bundle', denyAllSrc, '--since', '1h', '--fail-on-change'],
      env,
    );
    expect(denyAll.code).toBe(1);
    expect(denyAll.stdout).toMatch(/allow→deny\s+[1-9]/);
    expect(denyAll.stdout).toContain('SELECT 1');
    expect(denyAll.stdout).toMatch(/approval removed\s+1/);
    const agentOnly = await policyCli(
      ['backtest', '--bundle', denyAllSrc, '--since', '1h', '--identity', 'agent-1', '--json'],
      env,
    );
    const j = JSON.parse(agentOnly.stdout) as { total: number; changes: Record<string, number> };
    expect(j.changes['approval removed']).toBe(0);
    expect(j.changes['allow→deny']).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('publish --shadow: nodes evaluate the candidate alongside and record only differing decisions; diff summarises them', async () => {
    const stream = {
      topic: topics.policies,
      nodesTopic: topics.nodes,
      groupIdPrefix: 'test-policy-node',
      trustedKeys: { [signer.key.keyId]: signer.pub },
      heartbeatMs: 500,
    };
    const activate = await policyCli(['publish', dirA, '-m', 'active'], env);
    expect(activate.code, activate.stderr).toBe(0);
    const shadow = await policyCli(['publish', denyAllSrc, '--shadow', '-m', 'try deny-all'], env);
    expect(shadow.code, shadow.stderr).toBe(0);
    const { gateway } = await startFixtureGateway(nodeConfig('shadow-node', { stream }));
    nodes.push(gateway);
    expect(gateway.policy.status().shadowRevision).toMatch(/^[0-9a-f]{16}$/);
    const agent = await idp.issueToken({ user: 'agent-2', agent: true });
    expect(await run(gateway, agent, ['SELECT 3', 'DELETE FROM pg_class'])).toEqual([
      'ok',
      expect.any(String),
    ]);
    await waitFor(
      'the shadow decision in ClickHouse',
      () => recordedDecisions('shadow_decision'),
      (r) => r.length >= 1,
      30_000,
    );
    expect(await recordedDecisions('shadow_decision')).toHaveLength(1); // the DELETE was denied by both
    const diff = await policyCli(['diff', '--since', '1h'], env);
    expect(diff.stderr).toBe('');
    expect(diff.stdout).toMatch(/allow→deny\s+1/);
    expect(diff.stdout).toContain('SELECT 3');
    const cleared = await policyCli(['publish', '--clear-shadow'], env);
    expect(cleared.code, cleared.stderr).toBe(0);
    await waitFor(
      'shadow ended',
      () => Promise.resolve(gateway.policy.status().shadowRevision),
      (r) => r === undefined,
      5_000,
    );
  }, 120_000);
});
