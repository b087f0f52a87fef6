import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionMemo, decisionMemoSchema } from '../../services/gateway/pipeline/decision-memo.js';
import type { MemoisedResult } from '../../services/gateway/pipeline/decision-memo.js';
import type { PolicyEngine } from '../../services/gateway/policy/engine.js';
import { loadPolicyBundle } from '../../services/gateway/policy/load-bundle.js';
import type { PolicyGrant, PolicyInput } from '../../services/gateway/policy/types.js';
import { buildBundle, OPA } from './policy-helpers.js';
import { agent, DEMO_PG, human, piiReader, sqlInput, sshExec, stmt, withGrants } from './policy-inputs.js';

// The shipped policy declares its decision memo (policies/gatehouse/data.json, gatehouse.memo): decisions through
// the memo must be exactly the engine's, and the inputs it declares it does not read must indeed not matter.

let engine: PolicyEngine;
let work: string;

beforeAll(async () => {
  if (!existsSync(OPA))
    throw new Error(`opa binary not found at ${OPA}: run \`npm run stack:up\` or set OPA_BIN`);
  work = mkdtempSync(join(tmpdir(), 'gh-policy-memo-'));
  await buildBundle(join(work, 'bundle'));
  engine = await loadPolicyBundle(join(work, 'bundle'));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const dba = { ...human, sub: 'dora', groups: ['dba'] };
const customers = (text: string, extra = {}) =>
  stmt('select', text, true, {
    reads: ['customers'],
    columns: [
      { table: 'public.customers', column: 'email', position: 'select' },
      { table: 'public.customers', column: 'id', position: 'where' },
    ],
    ...extra,
  });
const dropTable = stmt('drop', 'DROP TABLE t', false, { ddl: true, writes: ['t'], object_type: 'table' });
const update = stmt('update', 'UPDATE t SET a = 1', false, { writes: ['t'] });

function corpus(): PolicyInput[] {
  const inputs: PolicyInput[] = [];
  for (const who of [agent, human, piiReader, dba, { ...agent, groups: [] }]) {
    inputs.push(
      sqlInput(who, [customers('SELECT email FROM customers WHERE id = 1')]),
      sqlInput(who, [stmt('select', 'SELECT 1', true)]),
      sqlInput(who, [dropTable]),
      sqlInput(who, [update]),
      {
        ...sqlInput(who, [customers('SELECT email FROM customers')]),
        connection: { ...DEMO_PG, tags: { 'gatehouse.pii_columns': 'customers.id' } },
      },
      sshExec(who, 'uname -a'),
      sshExec(who, 'rm -rf /tmp/x'),
      sshExec(who, 'cat /var/log/syslog'),
    );
  }
  return inputs;
}

describe('the decision memo with the shipped policy', () => {
  it('declares its memo', () => {
    expect(engine.memo).toEqual({
      inputs: ['connection.tags', 'identity.agent', 'identity.groups', 'identity.sub'],
      timeBucketSeconds: 0,
    });
  });

  it('decides exactly as the engine does, masks and approvals included, and reuses identical requests', () => {
    const memo = new DecisionMemo(decisionMemoSchema.parse({}));
    const memoised = memo.engine(engine);
    const inputs = corpus();
    const hits: boolean[] = [];
    for (const round of [1, 2]) {
      for (const input of inputs) {
        const got: MemoisedResult = memoised.evaluate(input);
        const want = engine.evaluate(input);
        expect(got.failedClosed).toBe(false);
        expect(got.decision, JSON.stringify({ round, input: input.request })).toEqual(want.decision);
        hits.push(got.memoHit === true);
      }
    }
    expect(hits.slice(0, inputs.length).every((h) => !h)).toBe(true);
    expect(hits.slice(inputs.length).every((h) => h)).toBe(true);
    // The corpus exercises what must not change: masks for agents, approvals for DDL and rm.
    const decisions = inputs.map((i) => engine.evaluate(i).decision);
    expect(decisions.some((d) => d.mask.columns.length > 0)).toBe(true);
    expect(decisions.some((d) => d.mask.detectors.length > 0)).toBe(true);
    expect(decisions.some((d) => d.approval.required)).toBe(true);
  });

  it('reads no undeclared input: e-mail, issuer, client id, session and time (without grants) change nothing', () => {
    for (const input of corpus()) {
      const want = engine.evaluate(input).decision;
      const varied: PolicyInput = {
        ...input,
        identity: { ...input.identity, email: 'someone@else.test', issuer: 'https://other', client_id: 'x' },
        session: { id: 'other', node: 'other-node', client_addr: '10.9.9.9', started_at: 42 },
        time: { unix: 2_000_000_000, weekday: 'Wednesday', hour: 3 },
      };
      expect(engine.evaluate(varied).decision).toEqual(want);
    }
  });

  it('evaluates a request offered grants every time (grants are compared with the time)', () => {
    const memo = new DecisionMemo(decisionMemoSchema.parse({}));
    const input = sshExec(human, 'rm -rf /tmp/x');
    const grant: PolicyGrant = {
      id: 'g1',
      sub: human.sub,
      connection: 'demo-ssh',
      fingerprint: input.request.fingerprint,
      groups: ['oncall'],
      approvals: 1,
      approved_at: input.time.unix - 10,
      expires_at: input.time.unix + 60,
    };
    const live = withGrants(input, [grant]);
    const expired = { ...live, time: { ...live.time, unix: grant.expires_at + 1 } };
    const first: MemoisedResult = memo.engine(engine).evaluate(live);
    const second: MemoisedResult = memo.engine(engine).evaluate(expired);
    expect(first.decision.allow).toBe(true);
    expect(second.decision.allow).toBe(false);
    expect([first.memoHit, second.memoHit]).toEqual([undefined, undefined]);
  });
});
