import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyEngine } from '../../services/gateway/policy/engine.js';
import { loadPolicyBundle } from '../../services/gateway/policy/load-bundle.js';
import type { PolicyInput } from '../../services/gateway/policy/types.js';
import { buildBundle, OPA, POLICY_SRC, sh } from './policy-helpers.js';
import {
  agent,
  DEMO_PG,
  human,
  piiReader,
  sqlInput,
  sshExec,
  sshInput,
  stmt,
  withGrants,
} from './policy-inputs.js';

// The example policy, built by policies/build.sh and evaluated by the gateway's wasm engine.

const PII_COLUMNS = ['customers.card_number', 'customers.email', 'customers.phone', 'customers.ssn'];
const AGENT_DETECTORS = ['card', 'email', 'national_id', 'phone', 'secret'];

let engine: PolicyEngine;
let work: string;
let bundleDir: string;

beforeAll(async () => {
  if (!existsSync(OPA))
    throw new Error(`opa binary not found at ${OPA}: run \`npm run stack:up\` or set OPA_BIN`);
  work = mkdtempSync(join(tmpdir(), 'gh-policy-engine-'));
  bundleDir = join(work, 'bundle');
  await buildBundle(bundleDir);
  engine = await loadPolicyBundle(bundleDir);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it('loads under the revision written by the build', () => {
  expect(engine.revision).toMatch(/^[0-9a-f]{16}$/);
  expect(engine.revision).toBe(readFileSync(join(bundleDir, 'revision'), 'utf8').trim());
  expect(engine.entrypoint).toBe('gatehouse/main/decision');
});

describe('SQL decisions (wasm)', () => {
  it('lets agents read, masking PII and running detectors, with batched audit', () => {
    const result = engine.evaluate(
      sqlInput(agent, [stmt('select', 'SELECT * FROM customers WHERE id = 1', true)]),
    );
    expect(result.failedClosed).toBe(false);
    expect(result.decision).toEqual({
      allow: true,
      reasons: ['read-only statements are allowed'],
      approval: { required: false, groups: [], approvals_needed: 0, ttl_seconds: 0, reuse_seconds: 0 },
      mask: { columns: PII_COLUMNS, fields: [], detectors: AGENT_DETECTORS },
      audit: 'batched',
      grants_used: [],
    });
    expect(result.revision).toBe(engine.revision);
    expect(result.evalMicros).toBeGreaterThan(0);
  });

  it('denies agents any statement that is not read-only', () => {
    const { decision } = engine.evaluate(
      sqlInput(agent, [stmt('insert', 'INSERT INTO orders VALUES (1)', false)]),
    );
    expect(decision.allow).toBe(false);
    expect(decision.reasons).toEqual(['agents are read-only: statement 1 (insert) is not read-only']);
    expect(decision.audit).toBe('sync');
  });

  it('lets people write with a WHERE clause, masked unless they read PII', () => {
    const update = stmt('update', "UPDATE orders SET status = 'x' WHERE id = 1", false, { has_where: true });
    const { decision } = engine.evaluate(sqlInput(human, [update]));
    expect(decision.allow).toBe(true);
    expect(decision.audit).toBe('sync');
    expect(decision.mask).toEqual({ columns: PII_COLUMNS, fields: [], detectors: [] });
    const reader = engine.evaluate(sqlInput(piiReader, [stmt('select', 'SELECT ssn FROM customers', true)]));
    expect(reader.decision.allow).toBe(true);
    expect(reader.decision.mask).toEqual({ columns: [], fields: [], detectors: [] });
  });

  it('denies DELETE and UPDATE without WHERE for everyone', () => {
    for (const who of [agent, human, piiReader]) {
      const { decision } = engine.evaluate(sqlInput(who, [stmt('delete', 'DELETE FROM orders', false)]));
      expect(decision.allow).toBe(false);
      expect(decision.reasons).toContain('DELETE without WHERE is not allowed: statement 1 (delete)');
    }
    const { decision } = engine.evaluate(
      sqlInput(human, [stmt('update', "UPDATE orders SET a = 'b'", false)]),
    );
    expect(decision.reasons).toEqual(['UPDATE without WHERE is not allowed: statement 1 (update)']);
  });

  it('requires dba approval for DDL on demo-pg, for agents and people alike', () => {
    for (const who of [agent, human]) {
      const { decision, failedClosed } = engine.evaluate(
        sqlInput(who, [
          stmt('create_table', 'CREATE TABLE t (id int)', false, { ddl: true, object_type: 'table' }),
        ]),
      );
      expect(failedClosed).toBe(false);
      expect(decision.allow).toBe(false);
      expect(decision.reasons).toEqual(['DDL on connection demo-pg requires approval by dba']);
      expect(decision.approval).toEqual({
        required: true,
        groups: ['dba'],
        approvals_needed: 1,
        ttl_seconds: 900,
        reuse_seconds: 0,
      });
    }
  });

  it('reuses a matching earlier grant for DDL', () => {
    const input = sqlInput(human, [
      stmt('create_table', 'CREATE TABLE t (id int)', false, { ddl: true, object_type: 'table' }),
    ]);
    const grant = {
      id: 'grant-9',
      sub: human.sub,
      connection: DEMO_PG.name,
      fingerprint: input.request.fingerprint,
      groups: ['dba'],
      approvals: 1,
      approved_at: input.time.unix - 10,
      expires_at: input.time.unix + 600,
    };
    const { decision } = engine.evaluate(withGrants(input, [grant]));
    expect(decision.allow).toBe(true);
    expect(decision.reasons).toEqual([
      'approved earlier (grant grant-9): DDL on connection demo-pg requires approval by dba',
    ]);
    const expired = engine.evaluate(withGrants(input, [{ ...grant, expires_at: input.time.unix }]));
    expect(expired.decision.approval.required).toBe(true);
  });

  it('denies SQL that did not parse', () => {
    const input = sqlInput(human, []);
    const broken: PolicyInput = {
      ...input,
      request: {
        ...input.request,
        kind: 'sql',
        sql: { text: 'SELEC 1', statements: [], parse_error: 'syntax error' },
      },
    };
    const { decision } = engine.evaluate(broken);
    expect(decision.allow).toBe(false);
    expect(decision.reasons).toEqual(['SQL could not be parsed: syntax error']);
  });
});

describe('SSH decisions (wasm)', () => {
  it('lets agents run read-only commands and read logs', () => {
    for (const command of ['uname -a', 'df -h', 'tail -n 50 /var/log/syslog', 'cat ~/logs/app.log']) {
      const { decision } = engine.evaluate(sshExec(agent, command));
      expect(decision.allow, command).toBe(true);
      expect(decision.audit).toBe('batched');
      expect(decision.mask.detectors).toEqual(AGENT_DETECTORS);
    }
  });

  it('denies agents chained commands and files outside the log folders', () => {
    expect(engine.evaluate(sshExec(agent, 'ls; rm -rf /')).decision.reasons[0]).toMatch(
      /^agent commands may not contain shell metacharacters/,
    );
    expect(engine.evaluate(sshExec(agent, 'cat $(echo /etc/shadow)')).decision.allow).toBe(false);
    expect(engine.evaluate(sshExec(agent, 'cat /etc/shadow')).decision.reasons).toEqual([
      "command 'cat' is not allowed for agents with these arguments",
    ]);
  });

  it('requires oncall approval for rm, systemctl, kill, shutdown and reboot', () => {
    for (const [who, command] of [
      [agent, 'rm -rf /tmp/cache'],
      [human, 'sudo systemctl restart nginx'],
      [human, 'kill -9 1234'],
      [agent, 'shutdown -r now'],
      [human, 'reboot'],
    ] as const) {
      const { decision } = engine.evaluate(sshExec(who, command));
      expect(decision.allow, command).toBe(false);
      expect(decision.approval.required, command).toBe(true);
      expect(decision.approval.groups).toEqual(['oncall']);
    }
  });

  it('opens interactive shells for people only and denies forwarding', () => {
    expect(engine.evaluate(sshInput(human, { type: 'shell', pty: true })).decision.allow).toBe(true);
    expect(engine.evaluate(sshInput(agent, { type: 'shell', pty: true })).decision.reasons).toEqual([
      'interactive shells are only for people, not agents',
    ]);
    const forward = engine.evaluate(
      sshInput(human, { type: 'port_forward', direction: 'local', host: '10.0.0.1', port: 22 }),
    );
    expect(forward.decision).toMatchObject({ allow: false, reasons: ['port forwarding is not allowed'] });
  });
});

describe('wasm and opa eval agree', () => {
  it('gives the same decision as the Rego interpreter for the same input', async () => {
    const inputs: PolicyInput[] = [
      sqlInput(agent, [stmt('select', 'SELECT 1', true)]),
      sqlInput(human, [
        stmt('create_table', 'CREATE TABLE t (id int)', false, { ddl: true, object_type: 'table' }),
      ]),
      sqlInput(agent, [stmt('delete', 'DELETE FROM t', false)]),
      sshExec(agent, 'ls && reboot'),
      sshExec(human, 'systemctl stop nginx'),
      sshInput(agent, { type: 'subsystem', subsystem: 'sftp' }),
    ];
    for (const input of inputs) {
      const file = join(work, 'input.json');
      writeFileSync(file, JSON.stringify(input));
      const evaluated = await sh(OPA, [
        'eval',
        '--format',
        'json',
        '--ignore',
        '*_test.rego',
        '--data',
        POLICY_SRC,
        '--input',
        file,
        'data.gatehouse.main.decision',
      ]);
      expect(evaluated.code, evaluated.stderr).toBe(0);
      const parsed = JSON.parse(evaluated.stdout) as { result: { expressions: { value: unknown }[] }[] };
      expect(engine.evaluate(input).decision).toEqual(parsed.result[0]?.expressions[0]?.value);
    }
  });
});

describe('decisions read once per result', () => {
  it('shares one frozen decision between evaluations with the same result, and only those', () => {
    const read = sqlInput(agent, [stmt('select', 'SELECT 1', true)]);
    const first = engine.evaluate(read);
    const again = engine.evaluate(sqlInput(agent, [stmt('select', 'SELECT 2', true)]));
    expect(first.failedClosed).toBe(false);
    expect(again.decision).toBe(first.decision);
    expect(Object.isFrozen(first.decision)).toBe(true);
    expect(Object.isFrozen(first.decision.mask.columns)).toBe(true);
    const denied = engine.evaluate(sqlInput(agent, [stmt('delete', 'DELETE FROM t', false)]));
    expect(denied.decision).not.toBe(first.decision);
    expect(denied.decision.allow).toBe(false);
    expect(engine.evaluate(read).decision).toEqual(first.decision);
  });
});

describe('evaluation speed', () => {
  it('is synchronous and takes microseconds for a typical SQL request', () => {
    const input = sqlInput(agent, [
      stmt(
        'select',
        'SELECT c.email, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = $1',
        true,
        {
          reads: ['customers', 'orders'],
          has_where: true,
        },
      ),
    ]);
    const first = engine.evaluate(input);
    expect(first).not.toBeInstanceOf(Promise);
    for (let i = 0; i < 300; i++) engine.evaluate(input);
    const iterations = 3000;
    const micros: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const started = process.hrtime.bigint();
      const result = engine.evaluate(input);
      micros.push(Number(process.hrtime.bigint() - started) / 1000);
      if (!result.decision.allow) throw new Error('unexpected deny');
    }
    micros.sort((a, b) => a - b);
    const p50 = micros[Math.floor(iterations * 0.5)] ?? 0;
    const p99 = micros[Math.floor(iterations * 0.99)] ?? 0;
    console.log(`policy eval over ${iterations} runs: p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs`);
    // A loose bound that still catches a pathological regression (e.g. re-instantiating per request).
    expect(p50).toBeLessThan(2000);
  });
});
