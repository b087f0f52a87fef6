import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputUse } from './input-paths.js';

const TOP = ['identity', 'connection', 'session', 'request', 'time'] as const;

/**
 * What a policy reads of `input` when `input.grants` is empty — the common case — by OPA's partial evaluation:
 * `grants` known (`[]`), every other field unknown; the residual policy names every input field the decision can
 * still depend on. Sound (partial evaluation keeps every dependency), and sharper than the sources: the example
 * policy reads `input.time.unix` only to check a grant's expiry, so without grants the decision does not depend
 * on the time. Undefined when opa is missing or fails, or when the residual still refers to a rule of the policy
 * (`data.gatehouse.…`: partial evaluation keeps a rule it does not inline, e.g. one with `else`, as a reference,
 * and what that rule reads of `input` is not in the residual): the caller falls back to the sources.
 */
export async function partialInputUse(
  opa: string,
  src: string,
  timeoutMs = 60_000,
): Promise<InputUse | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pe-'));
  try {
    await writeFile(join(dir, 'input.json'), '{"grants": []}');
    const args = ['eval', '--partial', '--ignore', '*_test.rego', '-d', src, '-i', join(dir, 'input.json')];
    for (const f of TOP) args.push('--unknowns', `input.${f}`);
    args.push('-f', 'json', 'data.gatehouse.main.decision');
    const stdout = await new Promise<string | undefined>((resolve) => {
      execFile(opa, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, out) =>
        resolve(err ? undefined : out),
      );
    });
    if (stdout === undefined) return undefined;
    const result = JSON.parse(stdout) as unknown;
    return refersToPolicyRules(result) ? undefined : inputRefs(result);
  } catch {
    return undefined; // no opa, unreadable output: the sources decide
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Term = { type?: unknown; value?: unknown };

/** Calls `visit` with the terms of every ref in a partial evaluation result until it returns true; true if it did. */
function someRef(result: unknown, visit: (terms: Term[]) => boolean): boolean {
  const stack: unknown[] = [result];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const t = v as Term;
    if (t.type === 'ref' && Array.isArray(t.value) && visit(t.value as Term[])) return true;
    for (const x of Object.values(v)) stack.push(x);
  }
  return false;
}

/**
 * Whether a partial evaluation result refers to a rule of the policy itself (`data.x…` other than the support
 * rules it generated under `data.partial`): that rule is evaluated as written, so the residual does not show what
 * it reads of `input`.
 */
export function refersToPolicyRules(result: unknown): boolean {
  return someRef(
    result,
    ([head, second]) =>
      head?.type === 'var' &&
      head.value === 'data' &&
      !(second?.type === 'string' && second.value === 'partial'),
  );
}

/** The input fields named by `input.x[.y]` refs anywhere in a partial evaluation result (`all` for `input[_]`). */
export function inputRefs(result: unknown): InputUse {
  const fields = new Set<string>();
  const time = new Set<string>();
  const all = someRef(result, ([head, second, third]) => {
    if (head?.type !== 'var' || head.value !== 'input') return false;
    if (second?.type !== 'string' || typeof second.value !== 'string') return true;
    fields.add(second.value);
    if (second.value !== 'time') return false;
    if (third?.type !== 'string' || typeof third.value !== 'string') return true;
    time.add(third.value);
    return false;
  });
  if (all) return 'all';
  fields.add('grants'); // known as [] in the evaluation: part of the key
  return { fields, time };
}
