import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { PolicyUsageError } from './policy-cli-env.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs (strict, with positionals); a bad argument is a usage error (exit 2). */
export function parseCli<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new PolicyUsageError(err instanceof Error ? err.message : 'bad arguments');
  }
}
