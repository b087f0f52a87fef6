/**
 * `gatehouse policy backtest` throughput: recorded requests re-decided per second, end to end (ClickHouse read,
 * input rebuilt from the record, the candidate's wasm evaluation through the gateway's engine, change counts).
 *
 * Writes a realistic recording into a database of its own (`gatehouse_bench_<random>`): agents and people in
 * sessions over the last day, SQL analysed by the gateway's own analyser, decided by the example policy (the
 * recorded decisions), a few requests offered grants. Then backtests policies/gatehouse (unchanged: every request
 * re-decided identically) and a deny-all candidate (everything allowed changes), and the raw engine rate without
 * the memo for comparison.
 *
 *   npm run stack:up && npm run bench:backtest -- [--requests 50000] [--sessions 200] [--keep]
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { SessionOpenedSchema } from '../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../proto/gen/gatehouse/v1/events_pb.js';
import { runPolicy } from '../services/cli/policy/run-policy.js';
import { decisionEvent, requestEvent } from '../services/gateway/pipeline/decision-events.js';
import { inputDecisionFields } from '../services/gateway/policy/input-record.js';
import { loadPolicyBundle } from '../services/gateway/policy/load-bundle.js';
import { sqlFingerprint } from '../services/gateway/policy/index.js';
import { policyTime } from '../services/gateway/policy/policy-time.js';
import type { Identity } from '../services/shared/identity/index.js';
import type {
  PolicyGrant,
  PolicyInput,
  PolicyRequest,
  PolicyResult,
} from '../services/gateway/policy/types.js';
import { analyzeSql } from '../services/gateway/sql/index.js';
import {
  applyMigrations,
  defaultMigrationsDir,
  loadMigrations,
} from '../services/recorder/clickhouse/migrations.js';
import { EventWriter } from '../services/recorder/store/event-writer.js';
import { toEventRow } from '../services/recorder/store/event-row.js';
import type { EventRow } from '../services/recorder/store/event-row.js';
import { SessionEvents } from '../services/shared/events/session-events.js';
import { testDatabase } from '../test/support/clickhouse.js';
import { testLogger } from '../test/support/kafka.js';
import { buildPolicyBundle } from '../test/support/gateway.js';
import { PROJECT_ROOT, stackEnv } from '../test/support/stack.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '50000' },
    sessions: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
});
const totalRequests = Number(values.requests);
const sessionCount = Number(values.sessions);

// A deterministic generator, so runs are comparable.
let seed = 42;
function rand(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}
function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
/** Zipf-like: the first items far more often. */
function zipf<T>(xs: readonly T[]): T {
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * rand() ** 3))]!;
}

const ISSUER = 'https://idp.example.test';
const agents: Identity[] = Array.from({ length: 12 }, (_, i) => ({
  sub: `agent-${i + 1}`,
  email: '',
  groups: [],
  agent: true,
  issuer: ISSUER,
  client_id: `agent-${i + 1}`,
}));
const people: Identity[] = [
  ['dora', ['dba']],
  ['eve', ['dev']],
  ['bob', ['dev', 'pii-readers']],
  ['ann', ['dev']],
  ['sam', ['soc']],
  ['pat', ['dba', 'dev']],
].map(([sub, groups]) => ({
  sub: sub as string,
  email: `${sub as string}@example.test`,
  groups: groups as string[],
  agent: false,
  issuer: ISSUER,
  client_id: 'gatehouse-cli',
}));

const TEXTS = [
  'SELECT id, name FROM customers WHERE id = $1',
  'SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20',
  'SELECT count(*) FROM orders',
  'SELECT email FROM customers WHERE id = $1',
  'SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1',
  'SELECT 1',
  'SELECT now()',
  'SELECT name, price FROM products WHERE category = $1',
  "SELECT sum(total) FROM orders WHERE created_at > now() - interval '1 day'",
  'UPDATE orders SET status = $1 WHERE id = $2',
  'INSERT INTO audit_notes (order_id, note) VALUES ($1, $2)',
  'DELETE FROM sessions_cache WHERE expires_at < now()',
  'DELETE FROM sessions_cache',
  "UPDATE customers SET tier = 'gold'",
  'CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)',
  'ALTER TABLE orders ADD COLUMN note text',
  'BEGIN',
  'COMMIT',
  'SHOW search_path',
  'EXPLAIN SELECT * FROM orders WHERE id = $1',
  'SELECT ssn FROM customers WHERE id = $1',
  'SELECT id FROM customers WHERE ssn LIKE $1',
  'TRUNCATE sessions_cache',
  'DROP TABLE old_orders',
];

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-backtest-'));
  const recordedDir = buildPolicyBundle();
  const engine = await loadPolicyBundle(recordedDir);
  const requests = new Map<string, PolicyRequest>();
  for (const text of TEXTS) {
    requests.set(text, {
      kind: 'sql',
      fingerprint: sqlFingerprint(text),
      sql: await analyzeSql(text),
    });
  }
  const db = await testDatabase('gatehouse_bench');
  try {
    await applyMigrations(db.ch, loadMigrations(defaultMigrationsDir()), testLogger);
    const writer = new EventWriter(db.ch);
    const decided = new Map<string, PolicyResult>();
    const lookup = { byRequest: () => undefined, byApproval: () => undefined };
    const now = Math.floor(Date.now() / 1000);
    let rows: EventRow[] = [];
    let offset = 0n;
    let written = 0;
    const genStarted = performance.now();
    const perSession = Math.ceil(totalRequests / sessionCount);
    for (let s = 0; s < sessionCount && written < totalRequests; s++) {
      const identity = rand() < 0.75 ? pick(agents) : pick(people);
      // Each caller has its habits: a shuffled slice of the statements, used Zipf-like.
      const habits = [...TEXTS].sort(() => rand() - 0.5).slice(0, 10);
      const startedAt = now - 23 * 3600 + Math.floor(rand() * 22 * 3600);
      const clientAddr = `10.0.${s % 250}.${(s * 7) % 250}`;
      const events = new SessionEvents({
        nodeId: `node-${(s % 3) + 1}`,
        protocol: 'postgres',
        connection: { name: 'demo-pg', tags: { env: 'demo' } },
        identity,
        now: () => BigInt(startedAt) * 1_000_000n,
      });
      const opened = events.next({
        case: 'sessionOpened',
        value: create(SessionOpenedSchema, { clientAddr }),
      });
      const push = (e: Event): void => {
        rows.push(toEventRow(e, { topic: 'bench', partition: 0, offset: String(offset++) }, lookup));
      };
      push(opened);
      let unix = startedAt;
      for (let i = 0; i < perSession && written < totalRequests; i++, written++) {
        unix += rand() < 0.2 ? 1 : 0;
        const text = zipf(habits);
        const grants: PolicyGrant[] =
          rand() < 0.01
            ? [
                {
                  id: `g-${s}`,
                  sub: identity.sub,
                  connection: 'demo-pg',
                  fingerprint: sqlFingerprint(text),
                  groups: ['dba'],
                  approvals: 1,
                  expires_at: unix + 600,
                } as unknown as PolicyGrant,
              ]
            : [];
        const input: PolicyInput = {
          identity,
          connection: { name: 'demo-pg', protocol: 'postgres', tags: { env: 'demo' } },
          session: {
            id: events.sessionId,
            node: events.nodeId,
            client_addr: clientAddr,
            started_at: startedAt,
          },
          request: requests.get(text)!,
          time: policyTime(new Date(unix * 1000)),
          grants,
        };
        const key = JSON.stringify([identity.sub, text, grants.length, grants.length > 0 ? unix : 0]);
        let result = decided.get(key);
        if (!result) decided.set(key, (result = engine.evaluate(input)));
        push(events.next(requestEvent(i + 1, 'sql', text, input.request), engine.revision));
        push(
          events.next(
            decisionEvent(i + 1, result, result.decision.reasons, '', inputDecisionFields(input)),
            engine.revision,
          ),
        );
      }
      if (rows.length >= 20_000) {
        await writer.insertEvents(rows, 5_000);
        rows = [];
      }
    }
    await writer.insertEvents(rows, 5_000);
    const genSeconds = (performance.now() - genStarted) / 1000;

    const e = stackEnv();
    const env: Record<string, string> = {
      GATEHOUSE_CLICKHOUSE_URL: db.opts.url,
      GATEHOUSE_CLICKHOUSE_USER: db.opts.username,
      ...(e.GATEHOUSE_CLICKHOUSE_PASSWORD_FILE
        ? { GATEHOUSE_CLICKHOUSE_PASSWORD_FILE: e.GATEHOUSE_CLICKHOUSE_PASSWORD_FILE }
        : {}),
      GATEHOUSE_CLICKHOUSE_DATABASE: db.opts.database,
      OPA_BIN: e.OPA_BIN ?? '',
    };
    const denyAll = join(work, 'deny-all', 'gatehouse');
    mkdirSync(denyAll, { recursive: true });
    writeFileSync(
      join(denyAll, 'main.rego'),
      'package gatehouse.main\n\ndecision := {"allow": false, "reasons": ["frozen"], "approval": {"required": false, "groups": [], "approvals_needed": 0, "ttl_seconds": 0, "reuse_seconds": 0}, "mask": {"columns": [], "fields": [], "detectors": []}, "audit": "sync"}\n',
    );
    const runs: [string, string][] = [
      ['policies/gatehouse (unchanged)', join(PROJECT_ROOT, 'policies', 'gatehouse')],
      ['deny-all candidate', denyAll],
    ];
    const table: string[][] = [
      ['candidate', 'requests', 'changed', 'evaluated', 'memo hits', 'seconds', 'requests/s'],
    ];
    for (const [name, dir] of runs) {
      let out = '';
      const code = await runPolicy(['backtest', '--bundle', dir, '--since', '24h', '--json'], {
        env,
        stdout: (t) => void (out += t),
        stderr: (t) => void process.stderr.write(t),
      });
      if (code !== 0) throw new Error(`backtest of ${name} exited ${code}`);
      const r = JSON.parse(out) as {
        total: number;
        unchanged: number;
        skipped: number;
        evaluated: number;
        memoHits: number;
        seconds: number;
      };
      table.push([
        name,
        String(r.total),
        String(r.total - r.unchanged - r.skipped),
        String(r.evaluated),
        String(r.memoHits),
        r.seconds.toFixed(2),
        String(Math.round(r.total / r.seconds)),
      ]);
    }
    // The engine alone, without the memo: every input evaluated.
    const sample = [...requests.values()].slice(0, 10);
    const n = 3_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      engine.evaluate({
        identity: agents[0]!,
        connection: { name: 'demo-pg', protocol: 'postgres', tags: { env: 'demo' } },
        session: { id: 's', node: 'n', client_addr: '10.0.0.1', started_at: now },
        request: sample[i % sample.length]!,
        time: policyTime(new Date()),
        grants: [],
      });
    }
    const rawSeconds = (performance.now() - t0) / 1000;
    table.push([
      '(engine alone, no memo)',
      String(n),
      '-',
      String(n),
      '0',
      rawSeconds.toFixed(2),
      String(Math.round(n / rawSeconds)),
    ]);
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    process.stdout.write(
      `recording: ${written} requests in ${sessionCount} sessions written in ${genSeconds.toFixed(1)} s (${db.opts.database})\n\n` +
        table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n') +
        '\n',
    );
  } finally {
    if (!values.keep) await db.drop();
  }
}

await main();
