import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { INPUT_SCHEMA_FILE, policyInputSchemaText } from './input-schema.js';
import { jsonSchemaFromType, SchemaGenerationError } from './json-schema-from-types.js';

const SAMPLE = fileURLToPath(new URL('./fixtures/sample-types.ts', import.meta.url));

describe('policies/input.schema.json', () => {
  it('is what the generator makes of services/gateway/policy/types.ts now', () => {
    expect(
      readFileSync(INPUT_SCHEMA_FILE, 'utf8'),
      'policies/input.schema.json is stale: the policy input types changed since it was generated. Run ' +
        '`npm run policy:schema` and commit policies/input.schema.json',
    ).toBe(policyInputSchemaText());
  }, 30_000);
});

describe('jsonSchemaFromType', { timeout: 30_000 }, () => {
  const schema = jsonSchemaFromType({ file: SAMPLE, type: 'Sample', title: 'sample' });

  it('closes objects, lists required fields and keeps named types as $defs with their JSDoc', () => {
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'sample',
      type: 'object',
      required: ['pets', 'either'],
      additionalProperties: false,
      properties: {
        pets: { type: 'array', items: { $ref: '#/$defs/Pet' } },
        either: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'number' } }] },
      },
    });
    expect(Object.keys(schema.$defs as object)).toEqual(['Owner', 'Pet']);
  });

  it('makes a union told apart by a literal a discriminated oneOf', () => {
    expect((schema.$defs as Record<string, unknown>).Pet).toEqual({
      description: 'A pet.',
      type: 'object',
      discriminator: { propertyName: 'kind' },
      oneOf: [
        {
          type: 'object',
          properties: { kind: { const: 'cat' }, lives: { type: 'number' } },
          required: ['kind', 'lives'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            kind: { const: 'dog' },
            good: { type: 'boolean' },
            owner: { $ref: '#/$defs/Owner' },
          },
          required: ['kind', 'good'],
          additionalProperties: false,
        },
      ],
    });
  });

  it('maps nullable, record, unknown, literal-union and recursive fields', () => {
    expect((schema.$defs as Record<string, unknown>).Owner).toEqual({
      type: 'object',
      properties: {
        name: { description: 'Their name.', type: ['string', 'null'] },
        tags: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        extra: {},
        mood: { type: 'string', enum: ['calm', 'busy'] },
        flag: { type: ['boolean', 'null'] },
        best: { $ref: '#/$defs/Owner' },
      },
      required: ['name', 'tags', 'extra', 'mood', 'flag'],
      additionalProperties: false,
    });
  });

  it('refuses a type with no JSON form, naming where it is', () => {
    expect(() => jsonSchemaFromType({ file: SAMPLE, type: 'WithFunction', title: 'x' })).toThrow(
      new SchemaGenerationError('WithFunction.run: () => void has no JSON Schema form'),
    );
    expect(() => jsonSchemaFromType({ file: SAMPLE, type: 'Missing', title: 'x' })).toThrow(
      /does not export Missing/,
    );
  });
});
