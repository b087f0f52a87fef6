import { describe, expect, it } from 'vitest';
import { ActivePolicy } from './active-policy.js';
import type { PolicyEngine } from './engine.js';
import { failClosedDecision } from './fail-closed.js';
import type { Decision, PolicyInput } from './types.js';

function engine(revision: string, decide: (input: PolicyInput) => Decision): PolicyEngine {
  return {
    revision,
    entrypoint: 'gatehouse/main/decision',
    evaluate: (input) => ({ failedClosed: false, decision: decide(input), revision, evalMicros: 1 }),
  };
}
const allow = (): Decision => ({ ...failClosedDecision('x'), allow: true, reasons: [] });
const deny = (): Decision => failClosedDecision('no');
const input = {} as PolicyInput;

describe('ActivePolicy', () => {
  it('swaps atomically: an engine taken before the swap keeps deciding with the old revision', () => {
    const active = new ActivePolicy({ maxRefusals: 2, now: () => 42 });
    active.activate(engine('a', allow), 'dir');
    const taken = active.current()!;
    active.activate(engine('b', deny), 'stream');
    expect(taken.evaluate(input).revision).toBe('a');
    expect(active.current()!.evaluate(input)).toMatchObject({ revision: 'b', decision: { allow: false } });
    expect(active.status()).toMatchObject({ revision: 'b', since: 42, source: 'stream' });
  });

  it('remembers a bounded number of refusals, newest first, and never touches the engine', () => {
    const active = new ActivePolicy({ maxRefusals: 2 });
    active.activate(engine('a', allow), 'dir');
    for (const r of ['x', 'y', 'z']) active.refuse(r, 'GH_ERR_POLICY_WASM_INVALID', 'bad');
    expect(active.status().refusals.map((r) => r.revision)).toEqual(['z', 'y']);
    expect(active.status()).toMatchObject({ revision: 'a', refusedTotal: 3 });
  });

  it('evaluates a shadow candidate alongside and reports it only where the outcome differs', () => {
    const active = new ActivePolicy({ maxRefusals: 2 });
    active.activate(engine('a', allow), 'stream');
    active.shadow(engine('s', allow));
    expect(active.current()!.evaluate(input).shadow).toBeUndefined();
    active.shadow(engine('s2', deny));
    const r = active.current()!.evaluate(input);
    expect(r).toMatchObject({ revision: 'a', decision: { allow: true } });
    expect(r.shadow).toMatchObject({ revision: 's2', outcome: 'deny', activeOutcome: 'allow' });
    active.shadow(undefined);
    expect(active.current()!.evaluate(input).shadow).toBeUndefined();
    expect(active.status().shadowRevision).toBeUndefined();
  });
});
