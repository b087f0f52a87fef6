import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaFromType } from './json-schema-from-types.js';
import type { JsonSchema } from './json-schema-from-types.js';

/** Where the policy contract's types live, and where their JSON Schema is committed. */
export const POLICY_TYPES_FILE = fileURLToPath(
  new URL('../../services/gateway/policy/types.ts', import.meta.url),
);
export const INPUT_SCHEMA_FILE = fileURLToPath(new URL('../../policies/input.schema.json', import.meta.url));

/** The JSON Schema of `input` (`PolicyInput`), as committed: 2-space JSON with a final newline. */
export function policyInputSchemaText(): string {
  const schema: JsonSchema = jsonSchemaFromType({
    file: POLICY_TYPES_FILE,
    type: 'PolicyInput',
    title: 'Gatehouse policy input',
    // An input file may name this schema for an editor; `gatehouse policy eval` drops it before evaluating.
    extraRootProperties: {
      $schema: {
        type: 'string',
        description: 'The schema this file follows (for editors); not part of input.',
      },
    },
  });
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** `npm run policy:schema` (writes the file) and `-- --check` (exit 1 when the committed file is stale). */
function main(argv: readonly string[]): number {
  const text = policyInputSchemaText();
  if (argv.includes('--check')) {
    const ok = readFileSync(INPUT_SCHEMA_FILE, 'utf8') === text;
    process.stderr.write(ok ? '' : 'policies/input.schema.json is stale: run npm run policy:schema\n');
    return ok ? 0 : 1;
  }
  writeFileSync(INPUT_SCHEMA_FILE, text);
  process.stdout.write(`wrote ${INPUT_SCHEMA_FILE}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
