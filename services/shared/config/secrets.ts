import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SecretUnavailableError } from './errors.js';

/**
 * A credential is never written inline in configuration: it names an environment variable or a file. Events and
 * logs may carry the reference (`env:NAME`, `file:/path`), never the value.
 */
export const secretRefSchema = z.union([
  z.strictObject({ env: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
]);

export type SecretRef = z.infer<typeof secretRefSchema>;

export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
}

/** Reads the secret's value; the error names the reference, never a value. */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new SecretUnavailableError(describeSecretRef(ref));
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new SecretUnavailableError(describeSecretRef(ref), { cause });
  }
}
