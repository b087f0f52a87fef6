import { deepFreeze } from '../../services/gateway/pipeline/frozen-json.js';
import { policyInput } from '../../services/gateway/policy/policy-input.js';
import {
  fingerprint,
  policyTime,
  sqlFingerprint,
  sshFingerprint,
} from '../../services/gateway/policy/index.js';
import type { SessionAudit } from '../../services/gateway/session-audit.js';
import type {
  PolicyGrant,
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

/**
 * `count` inputs for a differential check of two engines (bench:policy `--baseline`): random requests of every
 * protocol (SQL analysed by the real parser) from a pool of sessions, so that session parts repeat and a session's
 * requests differ; a third of the requests frozen whole (as the HTTP listener freezes its own), most inputs built by
 * `policyInput` as the pipeline builds them, and a few malformed (a field missing or of the wrong type, an extra
 * field, a request of over 3,000 bytes for an engine with a smaller input limit). Deterministic for a given `seed`.
 */
export async function generatedInputs(count: number, seed: number): Promise<PolicyInput[]> {
  await loadSqlParser();
  let state = seed >>> 0 || 1;
  const rnd = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const groups = [
    [],
    ['agents'],
    ['dba'],
    ['dba', 'oncall'],
    ['engineering', 'pii-readers'],
    ['oncall'],
    ['é'],
  ];
  const identities: PolicyIdentity[] = Array.from({ length: 12 }, (_, i) => {
    const identity: PolicyIdentity = {
      sub: `${pick(['bench-agent', 'dora', 'alice', '', 'üser\u2028', 'x"y\\z'])}${i % 3}`,
      email: pick([null, '', 'dora@example.test', 'ø@example.test']),
      groups: pick(groups),
      agent: rnd() < 0.6,
      issuer: pick(['http://127.0.0.1:21000', 'https://idp.example']),
      client_id: pick(['gatehouse-dev', 'coding-agent', '']),
    };
    // Half frozen as the token verifier makes them, half plain.
    return rnd() < 0.5
      ? Object.freeze({ ...identity, groups: Object.freeze([...identity.groups]) })
      : identity;
  });
  const connections = [
    { name: 'demo-pg', protocol: 'postgres', tags: { env: 'demo' } },
    { name: 'demo-pgbench', protocol: 'postgres', tags: {} },
    { name: 'prod-pg', protocol: 'postgres', tags: { env: 'prod' } },
    { name: 'demo-ssh', protocol: 'ssh', tags: { env: 'demo' } },
    { name: 'demo-mcp', protocol: 'mcp', tags: { env: 'demo' } },
    { name: 'demo-http', protocol: 'http', tags: { env: 'demo' } },
    { name: 'other-http', protocol: 'http', tags: {} },
  ] as const;
  const sessions = Array.from({ length: 400 }, (_, i) => ({
    identity: pick(identities),
    connection: pick(connections),
    audit: { sessionId: `s-${i}`, events: { nodeId: 'bench-gw-1' } } as unknown as SessionAudit,
    clientAddr: pick(['127.0.0.1', '::1', '10.0.0.7']),
    startedAt: 1_796_000_000 + i,
  }));
  const texts = [
    'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
    'SELECT id, name, email FROM customers WHERE id < 10',
    'SELECT * FROM customers',
    'UPDATE orders SET total = 0',
    'UPDATE orders SET total = 0 WHERE id = 1',
    'DELETE FROM orders',
    'INSERT INTO orders VALUES (1)',
    'ALTER TABLE orders ADD COLUMN note text',
    'CREATE TABLE t (a int)',
    'DROP TABLE orders',
    'TRUNCATE orders',
    'GRANT ALL ON orders TO x',
    'SET search_path = x',
    'SHOW work_mem',
    'BEGIN',
    'COMMIT',
    'COPY orders TO STDOUT',
    'SELECT pg_read_file($1)',
    'EXPLAIN SELECT 1',
    'SELECT 1; DELETE FROM orders',
    'PREPARE p AS SELECT 1',
    'SELECT * FROM pg_stat_activity',
    "SELECT 'é'",
    'SELEC broken',
  ];
  const commands = [
    'tail -n 100 ~/logs/app.log',
    'cat /var/log/syslog',
    'cat /etc/shadow',
    'ls -la',
    'uptime',
    'df -h',
    'rm -rf /',
    'systemctl restart x',
    'ps aux | grep x',
    'echo $(id)',
    'kill 1',
  ];
  const request = (kind: string): PolicyRequest => {
    if (kind === 'sql') {
      const columns =
        rnd() < 0.3
          ? [
              {
                table: 'public.customers',
                column: pick(['id', 'email', 'ssn']),
                position: pick(['select', 'where'] as const),
              },
            ]
          : undefined;
      return sql(pick(texts), columns);
    }
    if (kind === 'ssh') {
      const ssh =
        rnd() < 0.8
          ? ({ type: 'exec', command: pick(commands), pty: rnd() < 0.5 } as const)
          : ({ type: 'shell', pty: true } as const);
      return { kind: 'ssh', fingerprint: sshFingerprint(ssh), ssh };
    }
    const tool = pick(['list_customers', 'delete_customer', 'other_tool']);
    if (kind === 'mcp') {
      const mcp = {
        message_type: 'request',
        method: pick(['tools/call', 'tools/list', 'initialize']),
        tool,
        resource: null,
        arguments: { limit: Math.floor(rnd() * 20) },
        arguments_digest: '',
        server: 'demo-mcp',
        tool_changed: rnd() < 0.1,
        phase: 'call',
        protocol_version: '2026-07-28',
      } as const;
      return { kind: 'mcp', fingerprint: fingerprint('mcp', `${mcp.method} ${tool}`), mcp };
    }
    const method = pick(['GET', 'POST', 'DELETE', 'HEAD']);
    const path = pick(['/customers', '/upload', '/admin', '/customers/1']);
    const segments = path.split('/').filter(Boolean);
    const http = {
      method,
      path,
      segments,
      query: {},
      headers: {},
      content_type: '',
      json: null,
      body_bytes: 0,
      body_inspected: true,
    };
    return { kind: 'http', fingerprint: fingerprint('http', `${method} ${path}`), http };
  };
  const kinds = { postgres: 'sql', ssh: 'ssh', mcp: 'mcp', http: 'http' } as const;
  const out: PolicyInput[] = [];
  for (let i = 0; i < count; i++) {
    const s = pick(sessions);
    let r = request(rnd() < 0.05 ? pick(['sql', 'ssh', 'mcp', 'http']) : kinds[s.connection.protocol]);
    if (rnd() < 0.3) r = deepFreeze(r);
    const grants =
      rnd() < 0.1
        ? [
            {
              id: `g${i}`,
              fingerprint: r.fingerprint,
              connection: s.connection.name,
              sub: s.identity.sub,
              expires_at: 1_796_000_000 + Math.floor(rnd() * 2e9),
              groups: ['dba'],
              approvals: 1,
            },
          ]
        : [];
    const now = new Date(1_796_000_000_000 + Math.floor(rnd() * 1e9));
    const ctx = {
      ...s,
      connection: { name: s.connection.name, tags: s.connection.tags },
      protocol: s.connection.protocol,
    };
    const x: Record<string, unknown> =
      rnd() < 0.6
        ? { ...policyInput(ctx, r, grants as unknown as PolicyGrant[], now) }
        : {
            identity: s.identity,
            connection: { ...s.connection },
            session: {
              id: s.audit.sessionId,
              node: 'bench-gw-1',
              client_addr: s.clientAddr,
              started_at: s.startedAt,
            },
            request: r,
            time: policyTime(now),
            grants,
          };
    if (rnd() < 0.03) {
      const broken = Math.floor(rnd() * 5);
      if (broken === 0) delete x['identity'];
      else if (broken === 1) x['extra'] = 1;
      else if (broken === 2) x['session'] = null;
      else if (broken === 3) x['request'] = { ...r, pad: 'x'.repeat(3000) };
      else x['grants'] = {};
    }
    out.push(x as unknown as PolicyInput);
  }
  return out;
}
