import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { inputValidator, PolicyLoadError, PolicyLoadErrorCode } from '../../gateway/index.js';
import type { InputProblem, PolicyInput } from '../../gateway/index.js';
import type { Logger } from '../../shared/logger.js';
import { buildBundle } from './build-bundle.js';
import { parseCli } from './cli-args.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';
import { repoFile } from './repo-file.js';

/** The input's JSON Schema, generated from the gateway's types (`npm run policy:schema`). */
export const INPUT_SCHEMA_PATH = join('policies', 'input.schema.json');

/** Most problems printed for one file (the count of the rest follows). */
const MAX_PROBLEMS = 50;

/**
 * `gatehouse policy eval --input FILE [--bundle DIR]`: the decision the gateway's engine (wasm, fail-closed rules,
 * decision schema) gives for one input — e.g. one printed by `gatehouse policy input`. DIR defaults to
 * policies/gatehouse. The file is checked against policies/input.schema.json first (a top-level `$schema` naming
 * it for an editor is allowed and dropped): every problem is printed with its path, exit 2. Exit 0 when allowed, 3
 * when denied or held for approval, 1 when it failed closed.
 */
export async function runEval(argv: string[], io: PolicyCliIo, _log: Logger): Promise<number> {
  const { values, positionals } = parseCli(argv, { input: { type: 'string' }, bundle: { type: 'string' } });
  if (values.input === undefined || positionals.length > 0)
    throw new PolicyUsageError('eval needs --input FILE');
  let text: string;
  try {
    text = await readFile(values.input, 'utf8');
  } catch {
    throw new PolicyUsageError(`--input ${values.input} is not a readable file`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (err) {
    io.stderr(`gatehouse policy eval: ${values.input}: not JSON: ${(err as Error).message}\n`);
    return 2;
  }
  const problems = inputValidator(await inputSchema())(doc);
  if (problems.length > 0) {
    io.stderr(formatProblems(values.input, problems));
    return 2;
  }
  const { $schema: _editorSchema, ...input } = doc as PolicyInput & { $schema?: string };
  const dir = values.bundle ?? resolve('policies', 'gatehouse');
  const { engine } = await buildBundle(dir, io.env);
  const result = engine.evaluate(input);
  io.stdout(
    `${JSON.stringify({ revision: result.revision, failedClosed: result.failedClosed, decision: result.decision, evalMicros: Math.round(result.evalMicros) }, null, 2)}\n`,
  );
  if (result.failedClosed) return 1;
  return result.decision.allow ? 0 : 3;
}

async function inputSchema(): Promise<object> {
  const file = repoFile(INPUT_SCHEMA_PATH);
  if (file === undefined)
    throw new PolicyLoadError(PolicyLoadErrorCode.bundleNotFound, `${INPUT_SCHEMA_PATH} not found`);
  return JSON.parse(await readFile(file, 'utf8')) as object;
}

/** `FILE is not a valid policy input (N problems):` then a line per problem: `  input.a.b: message`. */
export function formatProblems(file: string, problems: readonly InputProblem[]): string {
  const n = problems.length;
  const lines = problems.slice(0, MAX_PROBLEMS).map((p) => `  ${p.path}: ${p.message}\n`);
  const more = n > MAX_PROBLEMS ? [`  … and ${n - MAX_PROBLEMS} more\n`] : [];
  return [
    `gatehouse policy eval: ${file} is not a valid policy input (${n} problem${n === 1 ? '' : 's'}; schema ${INPUT_SCHEMA_PATH}):\n`,
    ...lines,
    ...more,
  ].join('');
}
