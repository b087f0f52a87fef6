import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv/dist/2020.js';

/**
 * Checks a document against the policy input's JSON Schema (policies/input.schema.json, generated from types.ts by
 * `npm run policy:schema`), for hand-written inputs (`gatehouse policy eval --input FILE`). The gateway never
 * validates the inputs it builds itself: their type is the schema's source. Every problem is reported at once, with
 * the path of the bad field (`input.request.sql.statements[0].read_only`) and what is wrong there.
 */

export type InputProblem = { readonly path: string; readonly message: string };

export type InputValidator = (doc: unknown) => readonly InputProblem[];

/** A validator for `schema` (the parsed policies/input.schema.json). Throws when the schema itself is invalid. */
export function inputValidator(schema: object): InputValidator {
  // `discriminator`: a request whose `kind` (or an SSH detail whose `type`) is known is checked against that
  // variant alone, so the errors are that variant's, not every variant's.
  const ajv = new Ajv2020({
    allErrors: true,
    discriminator: true,
    strict: true,
    allowUnionTypes: true,
    verbose: true,
  });
  const validate = ajv.compile(schema);
  const defs = ((schema as { $defs?: unknown }).$defs ?? {}) as Readonly<Record<string, SchemaNode>>;
  return (doc) => {
    if (validate(doc)) return [];
    return dedupe((validate.errors ?? []).map((e) => problemOf(e, defs)));
  };
}

type SchemaNode = {
  readonly $ref?: string;
  readonly oneOf?: readonly SchemaNode[];
  readonly properties?: Readonly<Record<string, { readonly const?: unknown }>>;
};

/** The values a discriminated `oneOf` knows for its tag, its branches' `$ref`s followed into `$defs`. */
function tagValues(parent: SchemaNode, tag: string, defs: Readonly<Record<string, SchemaNode>>): unknown[] {
  return (parent.oneOf ?? []).map((branch) => {
    const target = branch.$ref?.startsWith('#/$defs/') ? defs[branch.$ref.slice(8)] : branch;
    return target?.properties?.[tag]?.const;
  });
}

function pathOf(pointer: string): string {
  let out = 'input';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part)
      ? `[${part}]`
      : /^[A-Za-z_$][\w$]*$/.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
  }
  return out;
}

function child(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

const list = (values: unknown): string =>
  Array.isArray(values) ? values.map((v) => JSON.stringify(v)).join(', ') : JSON.stringify(values);

function problemOf(e: ErrorObject, defs: Readonly<Record<string, SchemaNode>>): InputProblem {
  const path = pathOf(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: child(path, String(p.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return {
        path: child(path, String(p.additionalProperty)),
        message: 'is not a field of the policy input here (misspelt?)',
      };
    case 'enum':
      return { path, message: `must be one of ${list(p.allowedValues)}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'type':
      return { path, message: `must be ${String(p.type).replace(/,/g, ' or ')}` };
    case 'discriminator': {
      const tag = String(p.tag);
      const tagPath = child(path, tag);
      const known = list(tagValues(e.parentSchema as SchemaNode, tag, defs));
      return p.error === 'mapping'
        ? { path: tagPath, message: `must be one of ${known} (not ${JSON.stringify(p.tagValue)})` }
        : { path: tagPath, message: `is required: one of ${known}` };
    }
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

function dedupe(problems: readonly InputProblem[]): readonly InputProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
