import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PolicyInput } from '../../gateway/index.js';
import type { Logger } from '../../shared/logger.js';
import { buildBundle } from './build-bundle.js';
import { parseCli } from './cli-args.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';

/**
 * `gatehouse policy eval --input FILE [--bundle DIR]`: the decision the gateway's engine (wasm, fail-closed rules,
 * decision schema) gives for one input — e.g. one printed by `gatehouse policy input`. DIR defaults to
 * policies/gatehouse. Exit 0 when allowed, 3 when denied or held for approval, 1 when it failed closed.
 */
export async function runEval(argv: string[], io: PolicyCliIo, _log: Logger): Promise<number> {
  const { values, positionals } = parseCli(argv, { input: { type: 'string' }, bundle: { type: 'string' } });
  if (values.input === undefined || positionals.length > 0)
    throw new PolicyUsageError('eval needs --input FILE');
  let input: PolicyInput;
  try {
    input = JSON.parse(await readFile(values.input, 'utf8')) as PolicyInput;
  } catch {
    throw new PolicyUsageError(`--input ${values.input} is not a readable JSON file`);
  }
  const dir = values.bundle ?? resolve('policies', 'gatehouse');
  const { engine } = await buildBundle(dir, io.env);
  const result = engine.evaluate(input);
  io.stdout(
    `${JSON.stringify({ revision: result.revision, failedClosed: result.failedClosed, decision: result.decision, evalMicros: Math.round(result.evalMicros) }, null, 2)}\n`,
  );
  if (result.failedClosed) return 1;
  return result.decision.allow ? 0 : 3;
}
