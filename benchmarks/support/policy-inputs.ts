import { deepFreeze } from '../../services/gateway/pipeline/frozen-json.js';
import {
  fingerprint,
  policyTime,
  sqlFingerprint,
  sshFingerprint,
} from '../../services/gateway/policy/index.js';
import type {
  PolicyIdentity,
  PolicyInput,
  PolicyRequest,
  SqlStatement,
} from '../../services/gateway/policy/index.js';
import { analyzeSqlSync, loadSqlParser } from '../../services/gateway/sql/index.js';

/**
 * The inputs `bench:policy` evaluates: requests as the gateway builds them (SQL analysed by the real PostgreSQL
 * parser) for the shipped policy's main branches — the pgbench statement first, since it is the hot path.
 */
export type NamedInput = { name: string; input: PolicyInput };

// Identities frozen as the token verifier makes them (claimsToIdentity); connection and session frozen whole, as
// policyInput makes them once per session (services/gateway/policy/policy-input.ts).
const agent: PolicyIdentity = deepFreeze({
  sub: 'bench-agent',
  email: null,
  groups: ['agents'],
  agent: true,
  issuer: 'http://127.0.0.1:21000',
  client_id: 'gatehouse-dev',
});
const person: PolicyIdentity = deepFreeze({
  sub: 'dora',
  email: 'dora@example.test',
  groups: ['dba', 'oncall'],
  agent: false,
  issuer: 'http://127.0.0.1:21000',
  client_id: 'gatehouse-dev',
});
const session = deepFreeze({
  id: '0b7d6a4e-9f0c-4c61-8f2a-3d1e5b7c9a10',
  node: 'bench-gw-1',
  client_addr: '127.0.0.1',
  started_at: 1_796_000_000,
});

function input(
  identity: PolicyIdentity,
  connection: PolicyInput['connection'],
  request: PolicyRequest,
): PolicyInput {
  return {
    identity,
    connection: deepFreeze(connection),
    session,
    request,
    time: policyTime(new Date()),
    grants: [],
  };
}

/** A SQL request as the Postgres decider builds it; `columns` stand in for the lineage (catalog) step. */
function sql(text: string, columns?: SqlStatement['columns']): PolicyRequest {
  const analysis = analyzeSqlSync(text);
  const statements = columns ? analysis.statements.map((s) => ({ ...s, columns })) : analysis.statements;
  return { kind: 'sql', fingerprint: sqlFingerprint(text), sql: { ...analysis, statements } };
}

export async function benchInputs(): Promise<NamedInput[]> {
  await loadSqlParser();
  const pgbench = { name: 'demo-pgbench', protocol: 'postgres', tags: {} } as const;
  const demoPg = { name: 'demo-pg', protocol: 'postgres', tags: { env: 'demo' } } as const;
  const ssh = { name: 'demo-ssh', protocol: 'ssh', tags: { env: 'demo' } } as const;
  const mcp = { name: 'demo-mcp', protocol: 'mcp', tags: { env: 'demo' } } as const;
  const http = { name: 'demo-http', protocol: 'http', tags: { env: 'demo' } } as const;
  const sshExec = { type: 'exec', command: 'tail -n 100 ~/logs/app.log', pty: false } as const;
  const mcpCall = {
    message_type: 'request',
    method: 'tools/call',
    tool: 'list_customers',
    resource: null,
    arguments: { limit: 10 },
    arguments_digest: '',
    server: 'demo-mcp',
    tool_changed: false,
    phase: 'call',
    protocol_version: '2026-07-28',
  } as const;
  const httpGet = {
    method: 'GET',
    path: '/customers',
    segments: ['customers'],
    query: { limit: ['10'] },
    headers: {},
    content_type: '',
    json: null,
    body_bytes: 0,
    body_inspected: true,
  };
  return [
    {
      name: 'sql: pgbench SELECT (agent)',
      input: input(agent, pgbench, sql('SELECT abalance FROM pgbench_accounts WHERE aid = $1')),
    },
    {
      name: 'sql: masked columns (agent)',
      input: input(
        agent,
        demoPg,
        sql('SELECT id, name, email FROM customers WHERE id < 10', [
          { table: 'public.customers', column: 'id', position: 'select' },
          { table: 'public.customers', column: 'name', position: 'select' },
          { table: 'public.customers', column: 'email', position: 'select' },
          { table: 'public.customers', column: 'id', position: 'where' },
        ]),
      ),
    },
    {
      name: 'sql: UPDATE without WHERE (agent)',
      input: input(agent, demoPg, sql('UPDATE orders SET total = 0')),
    },
    {
      name: 'sql: DDL needs approval (person)',
      input: input(person, demoPg, sql('ALTER TABLE orders ADD COLUMN note text')),
    },
    {
      name: 'ssh: tail a log (agent)',
      input: input(agent, ssh, { kind: 'ssh', fingerprint: sshFingerprint(sshExec), ssh: sshExec }),
    },
    {
      name: 'mcp: tools/call (agent)',
      input: input(agent, mcp, {
        kind: 'mcp',
        fingerprint: fingerprint('mcp', 'tools/call list_customers'),
        mcp: mcpCall,
      }),
    },
    {
      name: 'http: GET (agent)',
      input: input(agent, http, {
        kind: 'http',
        fingerprint: fingerprint('http', 'GET /customers'),
        http: httpGet,
      }),
    },
  ];
}
