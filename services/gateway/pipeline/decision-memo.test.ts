import { describe, expect, it, vi } from 'vitest';
import { decision, testSession } from '../../../dev/pipeline-fixtures/pipeline-session.js';
import { failClosedResult } from '../policy/fail-closed.js';
import type { MemoDeclaration } from '../policy/memo-declaration.js';
import type { PolicyEngine, PolicyGrant, PolicyInput, PolicyResult, SqlRequest } from '../policy/index.js';
import { DecisionMemo, decisionMemoSchema, memoisedPolicy } from './decision-memo.js';
import type { MemoOutcome, MemoisedResult } from './decision-memo.js';
import { deepFreeze } from './frozen-json.js';
import { createRequestPipeline } from './request-pipeline.js';

const DECLARED: MemoDeclaration = {
  inputs: ['connection.tags', 'identity.agent', 'identity.groups', 'identity.sub'],
  timeBucketSeconds: 0,
};

/** A policy whose decision names everything it read, so a wrongly shared decision shows. */
function fakeEngine(revision = 'rev1', memo: MemoDeclaration | null = DECLARED) {
  const seen: PolicyInput[] = [];
  const engine: PolicyEngine = {
    revision,
    entrypoint: 'gatehouse/main/decision',
    memo,
    evaluate: (input) => {
      seen.push(input);
      const read = [
        revision,
        input.identity.sub,
        String(input.identity.agent),
        input.identity.groups.join('+'),
        input.connection.name,
        input.connection.protocol,
        JSON.stringify(input.connection.tags),
        String(Math.floor(input.time.unix / 3600)),
        JSON.stringify(input.request),
      ];
      return {
        failedClosed: false,
        decision: decision({ allow: input.identity.groups.includes('dba'), reasons: read }),
        revision,
        evalMicros: 40,
      };
    },
  };
  return { engine, seen };
}

function sql(text: string): SqlRequest {
  return { kind: 'sql', fingerprint: `fp:${text}`, sql: { text, statements: [], parse_error: null } };
}

function input(over: Partial<PolicyInput> = {}): PolicyInput {
  return {
    identity: {
      sub: 'alice',
      email: 'alice@example.com',
      groups: ['dba'],
      agent: false,
      issuer: 'https://idp',
      client_id: null,
    },
    connection: { name: 'demo-pg', protocol: 'postgres', tags: { env: 'demo' } },
    session: { id: 's1', node: 'n1', client_addr: '127.0.0.1', started_at: 1 },
    request: sql('SELECT 1'),
    time: { unix: 1_800_000_000, weekday: 'Friday', hour: 8 },
    grants: [],
    ...over,
  };
}

function memoOf(opts: Partial<{ maxEntries: number; maxKeyLength: number }> = {}) {
  const outcomes: MemoOutcome[] = [];
  const memo = new DecisionMemo(decisionMemoSchema.parse(opts), (o) => outcomes.push(o));
  return { memo, outcomes };
}

const GRANT: PolicyGrant = {
  id: 'g1',
  sub: 'alice',
  connection: 'demo-pg',
  fingerprint: 'fp:SELECT 1',
  groups: ['dba'],
  approvals: 1,
  approved_at: 1,
  expires_at: 1_800_000_100,
};

describe('DecisionMemo', () => {
  it('reuses the decision of an identical request, marked as a hit', () => {
    const { engine, seen } = fakeEngine();
    const { memo, outcomes } = memoOf();
    const first = memo.engine(engine).evaluate(input());
    const second: MemoisedResult = memo.engine(engine).evaluate(input());
    expect(seen).toHaveLength(1);
    expect(outcomes).toEqual(['miss', 'hit']);
    expect(second.memoHit).toBe(true);
    expect(second.decision).toEqual(first.decision);
    expect(second.revision).toBe('rev1');
    expect(Object.isFrozen(second.decision.reasons)).toBe(true);
  });

  it.each<[string, Partial<PolicyInput>]>([
    ['subject', { identity: { ...input().identity, sub: 'bob' } }],
    ['groups', { identity: { ...input().identity, groups: ['engineering'] } }],
    ['group order', { identity: { ...input().identity, groups: ['dba', 'x'] } }],
    ['agent flag', { identity: { ...input().identity, agent: true } }],
    ['connection', { connection: { ...input().connection, name: 'other-pg' } }],
    ['connection tags', { connection: { ...input().connection, tags: { env: 'prod' } } }],
    ['protocol', { connection: { ...input().connection, protocol: 'ssh' } }],
    ['request', { request: sql('SELECT 2') }],
  ])('never shares a decision between requests that differ in %s', (_name, over) => {
    const { engine, seen } = fakeEngine();
    const { memo } = memoOf();
    const a = memo.engine(engine).evaluate(input());
    const b: MemoisedResult = memo.engine(engine).evaluate(input(over));
    expect(seen).toHaveLength(2);
    expect(b.memoHit).toBeUndefined();
    expect(b.decision.reasons).not.toEqual(a.decision.reasons);
  });

  it('shares a decision across inputs the bundle declares it does not read', () => {
    const { engine, seen } = fakeEngine();
    const { memo } = memoOf();
    memo.engine(engine).evaluate(input());
    const other = input({
      identity: { ...input().identity, email: 'x@example.com', issuer: 'https://other' },
      session: { id: 's2', node: 'n2', client_addr: '10.0.0.9', started_at: 99 },
      time: { unix: 1_800_090_000, weekday: 'Saturday', hour: 9 },
    });
    expect((memo.engine(engine).evaluate(other) as MemoisedResult).memoHit).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it('keys on the declared time bucket', () => {
    const { engine, seen } = fakeEngine('rev1', { ...DECLARED, timeBucketSeconds: 3600 });
    const { memo } = memoOf();
    const at = (unix: number) => input({ time: { unix, weekday: 'Friday', hour: 0 } });
    const e = memo.engine(engine);
    e.evaluate(at(1_800_000_000)); // bucket 500000
    e.evaluate(at(1_800_000_000 + 1_000)); // same bucket: hit
    const next = e.evaluate(at(1_800_003_600)); // next bucket
    expect(seen).toHaveLength(2);
    expect((next as MemoisedResult).memoHit).toBeUndefined();
  });

  it('keys on the engine: a policy swap never serves an old decision, even under the same revision string', () => {
    const a = fakeEngine('rev1');
    const b = fakeEngine('rev1');
    const c = fakeEngine('rev2');
    const { memo } = memoOf();
    let current = a.engine;
    const policy = memoisedPolicy(() => current, memo);
    policy().evaluate(input());
    current = b.engine;
    expect((policy().evaluate(input()) as MemoisedResult).memoHit).toBeUndefined();
    current = c.engine;
    expect(policy().evaluate(input()).decision.reasons[0]).toBe('rev2');
    current = a.engine; // back to an engine seen before: its old decisions were dropped
    expect((policy().evaluate(input()) as MemoisedResult).memoHit).toBeUndefined();
    expect([a.seen.length, b.seen.length, c.seen.length]).toEqual([2, 1, 1]);
    expect(policy().revision).toBe('rev1');
  });

  it('never memoises a bundle without a declaration', () => {
    const { engine, seen } = fakeEngine('rev1', null);
    const { memo, outcomes } = memoOf();
    expect(memo.engine(engine)).toBe(engine);
    memo.engine(engine).evaluate(input());
    memo.engine(engine).evaluate(input());
    expect(seen).toHaveLength(2);
    expect(outcomes).toEqual([]);
    expect(memo.size).toBe(0);
  });

  it('never memoises a request offered grants, a failed evaluation, or an oversized key', () => {
    const { engine, seen } = fakeEngine();
    const { memo, outcomes } = memoOf({ maxKeyLength: 256 });
    const e = memo.engine(engine);
    e.evaluate(input({ grants: [GRANT] }));
    e.evaluate(input({ grants: [GRANT] }));
    e.evaluate(input({ request: sql('x'.repeat(300)) }));
    e.evaluate(input({ request: sql('x'.repeat(300)) }));
    expect(seen).toHaveLength(4);
    expect(outcomes).toEqual(['bypass', 'bypass', 'bypass', 'bypass']);

    let calls = 0;
    const failing: PolicyEngine = {
      revision: 'rev9',
      entrypoint: 'gatehouse/main/decision',
      memo: DECLARED,
      evaluate: (): PolicyResult => {
        calls++;
        return failClosedResult({ code: 'GH_ERR_POLICY_EVAL_FAILED', message: 'trap' }, 'rev9', 1);
      },
    };
    memo.engine(failing).evaluate(input());
    memo.engine(failing).evaluate(input());
    expect(calls).toBe(2);
  });

  it('is bounded: the least recently used decision goes first; 0 entries turns it off', () => {
    const { engine, seen } = fakeEngine();
    const { memo } = memoOf({ maxEntries: 2 });
    const e = memo.engine(engine);
    for (const text of ['A', 'B', 'A', 'C', 'A', 'B']) e.evaluate(input({ request: sql(text) }));
    // A miss, B miss, A hit, C miss (evicts B), A hit, B miss (evicts C)
    expect(seen.map((i) => (i.request as SqlRequest).sql.text)).toEqual(['A', 'B', 'C', 'B']);
    expect(memo.size).toBe(2);

    const off = memoOf({ maxEntries: 0 });
    expect(off.memo.engine(engine)).toBe(engine);
  });
});

describe('DecisionMemo keys of repeated requests (frozen identity and request, as the HTTP proxy gives them)', () => {
  const frozen = () => {
    const base = input();
    return {
      identity: deepFreeze({ ...base.identity, groups: [...base.identity.groups] }),
      connection: { ...base.connection, tags: deepFreeze({ env: 'demo' }) },
      request: deepFreeze(sql('SELECT 1')),
    };
  };

  it('reuses the key: a hit builds no JSON', () => {
    const { engine, seen } = fakeEngine();
    const { memo } = memoOf();
    const parts = frozen();
    memo.engine(engine).evaluate(input(parts));
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const hit: MemoisedResult = memo.engine(engine).evaluate(input(parts));
      expect(hit.memoHit).toBe(true);
      expect(stringify).not.toHaveBeenCalled();
    } finally {
      stringify.mockRestore();
    }
    expect(seen).toHaveLength(1);
  });

  it.each<[string, (p: ReturnType<typeof frozen>) => Partial<PolicyInput>]>([
    [
      'groups (another frozen identity)',
      (p) => ({ ...p, identity: deepFreeze({ ...p.identity, groups: ['x'] }) }),
    ],
    ['connection name', (p) => ({ ...p, connection: { ...p.connection, name: 'other' } })],
    ['tags', (p) => ({ ...p, connection: { ...p.connection, tags: deepFreeze({ env: 'prod' }) } })],
    ['request', (p) => ({ ...p, request: deepFreeze(sql('SELECT 2')) })],
    ['time bucket', (p) => ({ ...p, time: { unix: 1_800_003_600, weekday: 'Friday', hour: 9 } })],
  ])('never reuses a key across a change of %s', (_name, change) => {
    const { engine, seen } = fakeEngine('rev1', { ...DECLARED, timeBucketSeconds: 3600 });
    const { memo } = memoOf();
    const parts = frozen();
    const wrapped = memo.engine(engine);
    wrapped.evaluate(input(parts));
    wrapped.evaluate(input(parts));
    const b: MemoisedResult = wrapped.evaluate(input(change(parts)));
    expect(seen).toHaveLength(2);
    expect(b.memoHit).toBeUndefined();
  });

  it('never reuses a key made of an object that can change (an identity not frozen, changed in place)', () => {
    const { engine, seen } = fakeEngine();
    const { memo } = memoOf();
    const parts = frozen();
    const identity = { ...input().identity, groups: ['dba'] };
    const wrapped = memo.engine(engine);
    expect(wrapped.evaluate(input({ ...parts, identity })).decision.allow).toBe(true);
    identity.groups[0] = 'engineering';
    const after: MemoisedResult = wrapped.evaluate(input({ ...parts, identity }));
    expect(after.memoHit).toBeUndefined();
    expect(after.decision.allow).toBe(false);
    expect(seen).toHaveLength(2);
  });

  it('never serves a key of the engine before a swap', () => {
    const { memo } = memoOf();
    const parts = frozen();
    const one = fakeEngine('rev1');
    const two = fakeEngine('rev1');
    memo.engine(one.engine).evaluate(input(parts));
    const b: MemoisedResult = memo.engine(two.engine).evaluate(input(parts));
    expect(b.memoHit).toBeUndefined();
    expect(two.seen).toHaveLength(1);
  });
});

describe('the request pipeline with the memo', () => {
  it('records a decision event for every request, a reused one marked memo_hit', async () => {
    const t = testSession(decision({ allow: true, reasons: ['ok'], audit: 'batched' }));
    const { engine } = fakeEngine();
    const { memo } = memoOf();
    const pipeline = createRequestPipeline({ ...t.session, policy: memoisedPolicy(() => engine, memo) });
    const describe1 = {
      protocol: 'postgres',
      requestId: 1,
      kind: 'sql',
      text: 'SELECT 1',
      request: sql('SELECT 1'),
      durability: 'batched',
      reviewText: 'SELECT 1',
    } as const;
    const hooks = { onHeld: () => undefined, signal: new AbortController().signal };
    const a = await pipeline.decide(describe1, hooks);
    const b = await pipeline.decide({ ...describe1, requestId: 2 }, hooks);
    expect(b).toEqual(a);
    const decisions = t.publisher.bodies().flatMap((x) => (x.body.case === 'decision' ? [x.body.value] : []));
    expect(decisions.map((d) => [d.requestId, d.memoHit, d.allow])).toEqual([
      [1, false, false],
      [2, true, false],
    ]);
    expect(decisions[0]!.decisionJson).toBe(decisions[1]!.decisionJson);
  });
});
