import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

export type Frozen<T> = T extends (infer U)[]
  ? readonly Frozen<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

function deepFreeze<T>(value: T): Frozen<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}

/** Formats every zod issue as `path.to.field: message` so an operator can fix them all at once. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return `${path}: ${issue.message}`;
  });
}

/** Validates a plain object against a schema (which holds the defaults) and freezes the result. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  source: string,
): Frozen<z.output<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error));
  return deepFreeze(result.data);
}

/** Reads a YAML file, validates it, freezes it. Every problem is reported at once with its path. */
export function loadConfigFile<S extends z.ZodType>(schema: S, file: string): Frozen<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(file, [`cannot read file: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`], {
      cause,
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    throw new ConfigError(file, [`not valid YAML: ${(cause as Error).message.split('\n')[0]}`], { cause });
  }
  return parseConfig(schema, raw ?? {}, file);
}
