/**
 * pgbench -S (read-only, prepared) side by side in one run: direct to PostgreSQL, through PgBouncer, and through
 * a Gatehouse node with TLS, token login, per-statement policy, masking and audit to Kafka on — with the ratios,
 * and the in-process policy evaluation time per statement (p50/p99) from the gateway's own histogram data.
 *
 *   npm run stack:up && npm run bench:pgbench -- [--seconds 15] [--clients 4]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadPolicyBundle, policyTime, sqlFingerprint } from '../services/gateway/policy/index.js';
import type { PolicyInput } from '../services/gateway/policy/index.js';
import { analyzeSqlSync, loadSqlParser } from '../services/gateway/sql/index.js';
import { run } from '../test/support/clients.js';
import { buildPolicyBundle, startGatewayFixture } from '../test/support/gateway.js';
import { stackValue } from '../test/support/stack.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '15' }, clients: { type: 'string', default: '4' } },
});
const seconds = values.seconds;
const clients = values.clients;

type Result = { tps: number; latencyMs: number };

/** pgbench runs as a child process without blocking this event loop (the gateway under test runs in it). */
async function pgbench(
  port: number,
  database: string,
  user: string,
  password: string,
  ssl: boolean,
): Promise<Result> {
  const r = await run(
    'pgbench',
    [
      '-n',
      '-S',
      '-M',
      'prepared',
      '-T',
      seconds,
      '-c',
      clients,
      '-j',
      '2',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      user,
      database,
    ],
    { ...process.env, PGPASSWORD: password, PGSSLMODE: ssl ? 'require' : 'disable' },
    (Number(seconds) + 60) * 1000,
  );
  const out = r.stdout;
  if (r.status !== 0) throw new Error(`pgbench failed (${r.status}): ${r.stderr}`);
  const tps = /tps = ([\d.]+)/.exec(out);
  const lat = /latency average = ([\d.]+) ms/.exec(out);
  if (!tps || !lat) throw new Error(`unexpected pgbench output:\n${out}`);
  return { tps: Number(tps[1]), latencyMs: Number(lat[1]) };
}

async function startPgBouncer(password: string): Promise<{ port: number; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pgbouncer-'));
  const port = 16499;
  const user = stackValue('PG_TARGET_USER');
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${password}"\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `pgbench = host=${stackValue('PG_TARGET_HOST')} port=${stackValue('PG_TARGET_PORT')} dbname=${stackValue('PG_TARGET_PGBENCH_DATABASE')}`,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      `auth_type = scram-sha-256`,
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = session',
      `unix_socket_dir =`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  execFileSync('chown', ['-R', 'postgres', dir]);
  const child = spawn('runuser', ['-u', 'postgres', '--', 'pgbouncer', join(dir, 'pgbouncer.ini')], {
    stdio: 'ignore',
  });
  await sleep(1_000);
  return { port, stop: () => child.kill('SIGTERM') };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function policyEvalTimes(): Promise<{ p50: number; p99: number; analyzeP50: number }> {
  await loadSqlParser();
  const engine = await loadPolicyBundle(buildPolicyBundle());
  const text = 'SELECT abalance FROM pgbench_accounts WHERE aid = $1';
  const evals: number[] = [];
  const analyses: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    const t0 = performance.now();
    const sql = analyzeSqlSync(text);
    analyses.push((performance.now() - t0) * 1000);
    const input = {
      identity: { sub: 'agent-1', email: '', groups: ['agents'], agent: true, issuer: 'x', client_id: 'c' },
      connection: { name: 'demo-pgbench', protocol: 'postgres', tags: {} },
      session: { id: 's', node: 'n', client_addr: '127.0.0.1', started_at: 0 },
      request: { kind: 'sql', fingerprint: sqlFingerprint(text), sql },
      time: policyTime(new Date()),
      grants: [],
    } as unknown as PolicyInput;
    evals.push(engine.evaluate(input).evalMicros);
  }
  evals.sort((a, b) => a - b);
  analyses.sort((a, b) => a - b);
  return { p50: percentile(evals, 50), p99: percentile(evals, 99), analyzeP50: percentile(analyses, 50) };
}

const password = readFileSync(stackValue('PG_TARGET_PASSWORD_FILE'), 'utf8').trim();
const user = stackValue('PG_TARGET_USER');
const direct = await pgbench(
  Number(stackValue('PG_TARGET_PORT')),
  stackValue('PG_TARGET_PGBENCH_DATABASE'),
  user,
  password,
  false,
);
const bouncer = await startPgBouncer(password);
let viaBouncer: Result;
try {
  viaBouncer = await pgbench(bouncer.port, 'pgbench', user, password, false);
} finally {
  bouncer.stop();
}
const fx = await startGatewayFixture();
let viaGateway: Result;
try {
  const token = await fx.idp.issueToken({
    user: 'bench-agent',
    agent: true,
    groups: ['agents'],
    ttlSeconds: 3600,
  });
  viaGateway = await pgbench(fx.pgPort, 'demo-pgbench', 'bench-agent', token, true);
} finally {
  await fx.stop();
}
const evals = await policyEvalTimes();

const row = (name: string, r: Result) =>
  `${name.padEnd(44)} ${r.tps.toFixed(0).padStart(8)} tps ${r.latencyMs.toFixed(3).padStart(8)} ms  ${(r.tps / direct.tps).toFixed(2)}x`;
console.log(`\npgbench -S -M prepared, ${clients} clients, ${seconds} s each`);
console.log(`${'path'.padEnd(44)} ${'TPS'.padStart(12)} ${'latency'.padStart(11)}  vs direct`);
console.log(row('direct (no TLS)', direct));
console.log(row('PgBouncer (session pooling, no TLS)', viaBouncer));
console.log(row('Gatehouse (TLS, policy, masking, audit)', viaGateway));
console.log(`gateway / pgbouncer: ${(viaGateway.tps / viaBouncer.tps).toFixed(2)}`);
console.log(
  `policy evaluation per statement (wasm, in-process): p50 ${evals.p50.toFixed(1)} µs, p99 ${evals.p99.toFixed(1)} µs; ` +
    `SQL analysis p50 ${evals.analyzeP50.toFixed(1)} µs (uncached)`,
);
process.exit(0);
