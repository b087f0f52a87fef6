import ts from 'typescript';

/**
 * A JSON Schema (draft 2020-12) from one exported TypeScript type, read with the TypeScript compiler's own type
 * checker — so the schema follows the types the gateway is compiled with, not a second description of them. It
 * covers what JSON data types use: string, number, boolean, null, literals, arrays, objects (closed:
 * `additionalProperties: false`), string-keyed records, `unknown` (any JSON value) and unions. A union of objects
 * told apart by one literal property becomes `oneOf` with an OpenAPI `discriminator` (validators that know it then
 * report the errors of the one variant named, not of all). Named type aliases and interfaces become `$defs`;
 * JSDoc comments become `description`s. Anything else (functions, bigint, symbols, tuples…) is an error naming
 * the type, never a silently loose schema.
 */

export type JsonSchema = { [key: string]: unknown };

export type SchemaOptions = {
  /** The TypeScript file that exports the type. */
  readonly file: string;
  /** The exported type alias or interface. */
  readonly type: string;
  readonly title: string;
  /** Extra root properties the document may carry (e.g. an editor's `$schema`). */
  readonly extraRootProperties?: Readonly<Record<string, JsonSchema>>;
};

export class SchemaGenerationError extends Error {}

/** The order of `type: [...]` lists (TypeScript orders union members by internal type id). */
const TYPE_ORDER = ['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'];

export function jsonSchemaFromType(options: SchemaOptions): JsonSchema {
  const program = ts.createProgram([options.file], {
    strict: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(options.file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new SchemaGenerationError(`${options.file} is not a module`);
  const root = checker.getExportsOfModule(moduleSymbol).find((s) => s.name === options.type);
  if (!root) throw new SchemaGenerationError(`${options.file} does not export ${options.type}`);

  const defs = new Map<string, JsonSchema>();
  const named = new Map<string, ts.Type>();
  const rootType = checker.getDeclaredTypeOfSymbol(root);
  const body = objectSchema(rootType, options.type);
  const rootProperties = { ...(options.extraRootProperties ?? {}), ...(body.properties as object) };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: options.title,
    ...describe(root),
    ...body,
    properties: rootProperties,
    $defs: Object.fromEntries([...defs.entries()].sort(([a], [b]) => a.localeCompare(b))),
  };

  function describe(symbol: ts.Symbol | undefined): { description?: string } {
    const text = symbol ? ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() : '';
    return text ? { description: text.replace(/\s*\n\s*/g, ' ') } : {};
  }

  /** The symbol that names `type` in the project's own sources (not a library's Readonly/Record/Array). */
  function ownName(type: ts.Type): ts.Symbol | undefined {
    const symbol = type.aliasSymbol ?? (type.isClassOrInterface() ? type.symbol : undefined);
    const declaration = symbol?.declarations?.[0];
    if (!symbol || !declaration) return undefined;
    return program.isSourceFileDefaultLibrary(declaration.getSourceFile()) ? undefined : symbol;
  }

  function schemaOf(type: ts.Type, where: string): JsonSchema {
    const symbol = ownName(type);
    if (!symbol || symbol === root) return inline(type, where);
    const name = symbol.name;
    const seen = named.get(name);
    if (seen !== undefined && seen !== type)
      throw new SchemaGenerationError(`two different types are named ${name}`);
    if (seen === undefined) {
      named.set(name, type);
      defs.set(name, {}); // placeholder first: recursive types refer to it
      defs.set(name, { ...describe(symbol), ...inline(type, name) });
    }
    return { $ref: `#/$defs/${name}` };
  }

  function inline(type: ts.Type, where: string): JsonSchema {
    const f = type.flags;
    if (f & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return {};
    if (f & ts.TypeFlags.Null) return { type: 'null' };
    if (f & ts.TypeFlags.StringLiteral) return { const: (type as ts.StringLiteralType).value };
    if (f & ts.TypeFlags.NumberLiteral) return { const: (type as ts.NumberLiteralType).value };
    if (f & ts.TypeFlags.BooleanLiteral) return { const: checker.typeToString(type) === 'true' };
    if (f & ts.TypeFlags.String) return { type: 'string' };
    if (f & ts.TypeFlags.Number) return { type: 'number' };
    if (f & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (type.isUnion()) return unionSchema(type.types, where);
    if (checker.isArrayType(type)) {
      const [item] = checker.getTypeArguments(type as ts.TypeReference);
      if (item) return { type: 'array', items: schemaOf(item, `${where}[]`) };
    }
    if (f & ts.TypeFlags.Object && !checker.isTupleType(type) && type.getCallSignatures().length === 0)
      return objectSchema(type, where);
    throw new SchemaGenerationError(`${where}: ${checker.typeToString(type)} has no JSON Schema form`);
  }

  function objectSchema(type: ts.Type, where: string): JsonSchema {
    const properties = checker.getPropertiesOfType(type);
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    if (index && properties.length === 0)
      return { type: 'object', additionalProperties: schemaOf(index.type, `${where}{}`) };
    if (index) throw new SchemaGenerationError(`${where}: both properties and an index signature`);
    const required: string[] = [];
    const props: Record<string, JsonSchema> = {};
    for (const p of properties) {
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
      if (!optional) required.push(p.name);
      // An optional property's type is `T | undefined`: the union drops `undefined`.
      props[p.name] = { ...describe(p), ...schemaOf(checker.getTypeOfSymbol(p), `${where}.${p.name}`) };
    }
    return { type: 'object', properties: props, required, additionalProperties: false };
  }

  function unionSchema(members: readonly ts.Type[], where: string): JsonSchema {
    const parts = members.filter((t) => !(t.flags & ts.TypeFlags.Undefined));
    // `boolean` is the union true | false: keep it one type.
    const booleans = parts.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
    const rest = parts.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral));
    const schemas = [
      ...(booleans.length === 2 ? [{ type: 'boolean' }] : booleans.map((t) => inline(t, where))),
      ...rest.map((t) => schemaOf(t, where)),
    ];
    if (schemas.length === 1) return schemas[0]!;
    if (schemas.every((s) => 'const' in s && typeof s.const === 'string'))
      return { type: 'string', enum: schemas.map((s) => s.const) };
    const simple = schemas.every((s) => Object.keys(s).length === 1 && typeof s.type === 'string');
    if (simple) {
      const names = schemas.map((s) => String(s.type));
      return { type: TYPE_ORDER.filter((t) => names.includes(t)) };
    }
    const tag = discriminator(rest);
    return tag
      ? { type: 'object', oneOf: schemas, discriminator: { propertyName: tag } }
      : { anyOf: schemas };
  }

  /** The property every member is an object with a distinct string literal of, if there is one. */
  function discriminator(members: readonly ts.Type[]): string | undefined {
    if (members.length < 2 || !members.every((m) => m.flags & ts.TypeFlags.Object)) return undefined;
    const first = members[0]!;
    for (const p of checker.getPropertiesOfType(first)) {
      const values = members.map((m) => {
        const prop = m.getProperty(p.name);
        const t = prop && !(prop.flags & ts.SymbolFlags.Optional) ? checker.getTypeOfSymbol(prop) : undefined;
        return t && t.flags & ts.TypeFlags.StringLiteral ? (t as ts.StringLiteralType).value : undefined;
      });
      if (values.every((v) => v !== undefined) && new Set(values).size === values.length) return p.name;
    }
    return undefined;
  }
}
