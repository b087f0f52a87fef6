import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decision, testSession } from '../../../dev/pipeline-fixtures/pipeline-session.js';
import { httpRequestOf } from '../http/http-request.js';
import { parseMcpBody } from '../mcp/jsonrpc-message.js';
import { listedToolRequest, mcpRequestOf } from '../mcp/mcp-request.js';
import { createSqlDecider } from '../postgres/sql-decider.js';
import { createSshDecider } from '../ssh/ssh-decider.js';
import { loadSqlParser, SqlAnalysisCache } from '../sql/index.js';
import { LineageCache } from '../sql/lineage/index.js';
import type { LineageCatalog } from '../sql/lineage/index.js';
import { inputDecisionFields, reconstructInput } from './input-record.js';
import { inputValidator } from './input-validation.js';
import type { InputValidator } from './input-validation.js';
import { policyInput } from './policy-input.js';
import type { PolicyGrant, PolicyInput, PolicyRequest, SshRequestDetail } from './types.js';

/**
 * policies/input.schema.json against the inputs the gateway really builds: each protocol's request builder (SQL
 * through the real parser and lineage, SSH through its decider, MCP and HTTP through theirs) and the one input
 * builder the pipeline uses. A field the gateway sends that the types (hence the schema) lack fails here.
 */

const SCHEMA = JSON.parse(
  readFileSync(new URL('../../../policies/input.schema.json', import.meta.url), 'utf8'),
) as object;

const CATALOG: LineageCatalog = {
  version: 1,
  relations: (schema, name) =>
    name === 'customers' && (schema === null || schema === 'public')
      ? [{ schema: 'public', name: 'customers', columns: ['id', 'email', 'city'] }]
      : [],
  isBuiltinFunction: (name) => ['lower', 'now', 'set_config'].includes(name),
};

const ALLOW = decision({ allow: true, reasons: ['ok'] });
const GRANT: PolicyGrant = {
  id: 'appr-1',
  sub: 'agent-7',
  connection: 'demo',
  fingerprint: 'f'.repeat(64),
  groups: ['dba'],
  approvals: 1,
  approved_at: 1_767_225_600,
  expires_at: 1_767_229_200,
};

let validate: InputValidator;

beforeAll(async () => {
  await loadSqlParser();
  validate = inputValidator(SCHEMA);
});

async function sqlInputs(texts: readonly string[]): Promise<PolicyInput[]> {
  const t = testSession(ALLOW, { protocol: 'postgres' });
  const decide = createSqlDecider({
    ...t.session,
    lineage: new LineageCache(new SqlAnalysisCache(), () => CATALOG),
  });
  for (const [i, text] of texts.entries()) await decide(text, i + 1, 'sql');
  return t.inputs;
}

async function sshInputs(details: readonly SshRequestDetail[]): Promise<PolicyInput[]> {
  const t = testSession(ALLOW, { protocol: 'ssh' });
  const decide = createSshDecider(t.session);
  const hooks = { notify: () => undefined, signal: new AbortController().signal };
  for (const [i, d] of details.entries()) await decide(d, i + 1, hooks);
  return t.inputs;
}

/** A request as the pipeline would wrap it, with an earlier grant. */
function inputOf(protocol: 'mcp' | 'http', request: PolicyRequest): PolicyInput {
  const { session } = testSession(ALLOW, { protocol });
  return policyInput({ ...session, protocol }, request, [GRANT]);
}

function mcpInput(body: string): PolicyInput {
  const parsed = parseMcpBody(body);
  if (!parsed.ok) throw new Error(`fixture is not a JSON-RPC message: ${body}`);
  const ctx = { server: 'demo-mcp', protocolVersion: '2026-07-28', toolChanged: () => false };
  return inputOf('mcp', mcpRequestOf(parsed.message, ctx));
}

describe('policies/input.schema.json accepts what the gateway builds', () => {
  it('SQL: statements, settings, names, lineage columns, DDL, parse errors', async () => {
    const inputs = await sqlInputs([
      'SELECT id, lower(email) FROM customers WHERE city = $1 ORDER BY id',
      "SET statement_timeout = '5s'; SELECT set_config('application_name', 'x', true)",
      'PREPARE p AS DELETE FROM customers WHERE id = 1',
      'EXECUTE p',
      'EXECUTE unknown_name',
      'DO $$ BEGIN END $$',
      'CREATE TABLE t (id int); DROP TABLE t',
      'SELEC nonsense',
      '',
    ]);
    expect(inputs).toHaveLength(9);
    const prepared = inputs[2]!.request;
    expect(prepared.kind === 'sql' && prepared.sql.statements[0]?.name_ref?.statement).toBeTruthy();
    for (const input of inputs) expect(validate(input)).toEqual([]);
  });

  it('SSH: every request type', async () => {
    const inputs = await sshInputs([
      { type: 'exec', command: 'uname -a', pty: false },
      { type: 'shell', pty: true },
      { type: 'subsystem', subsystem: 'sftp' },
      { type: 'port_forward', direction: 'local', host: 'db.internal', port: 5432 },
      { type: 'x11' },
      { type: 'agent_forward' },
    ]);
    expect(inputs).toHaveLength(6);
    for (const input of inputs) expect(validate(input)).toEqual([]);
  });

  it('MCP: calls with arguments, list-phase questions, notifications and responses', () => {
    const ctx = { server: 'demo-mcp', protocolVersion: '', toolChanged: () => true };
    const inputs = [
      mcpInput(
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_customer","arguments":{"id":3,"why":["x",null]}}}',
      ),
      mcpInput('{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"demo://x"}}'),
      mcpInput('{"jsonrpc":"2.0","method":"notifications/initialized"}'),
      mcpInput('{"jsonrpc":"2.0","id":7,"result":{}}'),
      inputOf('mcp', listedToolRequest('list_customers', ctx)),
    ];
    for (const input of inputs) expect(validate(input)).toEqual([]);
  });

  it('HTTP: JSON bodies, other bodies, streamed bodies, query and headers', () => {
    const inputs = [
      httpRequestOf(
        {
          method: 'post',
          target: '/customers/3/notes?tag=a&tag=b',
          headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1' },
          body: { kind: 'buffered', bytes: Buffer.from('{"text":"hi","n":[1,2]}') },
        },
        ['x-request-id'],
      ),
      httpRequestOf(
        { method: 'GET', target: '/', headers: {}, body: { kind: 'buffered', bytes: Buffer.alloc(0) } },
        [],
      ),
      httpRequestOf(
        {
          method: 'PUT',
          target: '/files/a%2Fb',
          headers: { 'content-type': 'application/octet-stream' },
          body: { kind: 'buffered', bytes: Buffer.from([0, 1, 2]) },
        },
        [],
      ),
    ].map((r) => inputOf('http', r));
    for (const input of inputs) expect(validate(input)).toEqual([]);
  });
  it('an input rebuilt from its recording (`gatehouse policy input`)', async () => {
    const [sql] = await sqlInputs(['UPDATE customers SET city = $1 WHERE id = 2']);
    for (const input of [
      sql!,
      inputOf(
        'http',
        httpRequestOf(
          { method: 'GET', target: '/a', headers: {}, body: { kind: 'buffered', bytes: Buffer.alloc(0) } },
          [],
        ),
      ),
    ]) {
      const d = inputDecisionFields(input);
      const rebuilt = reconstructInput({
        sessionId: input.session.id,
        node: input.session.node,
        identity: {
          ...input.identity,
          email: input.identity.email ?? '',
          clientId: input.identity.client_id ?? '',
        },
        connection: input.connection,
        parsedJson: JSON.stringify(input.request),
        inputUnix: Number(d.inputUnix),
        inputSessionJson: d.inputSessionJson,
        inputGrantsJson: d.inputGrantsJson,
      });
      expect(validate(rebuilt)).toEqual([]);
    }
  });
});

describe('policies/input.schema.json refuses malformed input, each problem with its path', () => {
  it('names a misspelt, a missing and a mistyped field, and a bad enum value, all at once', async () => {
    const [good] = await sqlInputs(['SELECT 1']);
    const { grants: _grants, ...rest } = good!;
    const bad = {
      ...rest,
      identity: { ...good!.identity, agnet: true },
      session: { ...good!.session, started_at: '2026-01-01' },
      time: { ...good!.time, weekday: 'Funday' },
    };
    expect(validate(bad)).toEqual([
      { path: 'input.grants', message: 'is required' },
      { path: 'input.identity.agnet', message: 'is not a field of the policy input here (misspelt?)' },
      { path: 'input.session.started_at', message: 'must be number' },
      {
        path: 'input.time.weekday',
        message:
          'must be one of "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"',
      },
    ]);
  });

  it('checks a request against the variant its kind names, and names the known kinds', async () => {
    const [good] = await sqlInputs(['SELECT 1']);
    const statement = { ...(good!.request.kind === 'sql' ? good!.request.sql.statements[0] : {}) };
    const wrongField = {
      ...good!,
      request: {
        kind: 'sql',
        fingerprint: 'x',
        sql: { text: 'x', parse_error: null, statements: [statement] },
      },
    };
    delete (wrongField.request.sql.statements[0] as { read_only?: boolean }).read_only;
    expect(validate(wrongField)).toEqual([
      { path: 'input.request.sql.statements[0].read_only', message: 'is required' },
    ]);
    expect(validate({ ...good!, request: { kind: 'kafka', fingerprint: 'x' } })).toEqual([
      { path: 'input.request.kind', message: 'must be one of "sql", "ssh", "mcp", "http" (not "kafka")' },
    ]);
    expect(validate({ ...good!, request: { fingerprint: 'x' } })).toEqual([
      { path: 'input.request.kind', message: 'is required: one of "sql", "ssh", "mcp", "http"' },
    ]);
  });

  it('reads odd field names back as written', () => {
    expect(validate({ 'a b': 1, identity: 'me' }).slice(0, 2)).toEqual([
      { path: 'input.connection', message: 'is required' },
      { path: 'input.session', message: 'is required' },
    ]);
    expect(validate({ 'a b': 1 })).toContainEqual({
      path: 'input["a b"]',
      message: 'is not a field of the policy input here (misspelt?)',
    });
  });
});
