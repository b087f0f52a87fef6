import { spawn } from 'node:child_process';
import pg from 'pg';

export type PsqlResult = { status: number; stdout: string; stderr: string };

/** Runs a client program without blocking the event loop (the gateway under test may share this process). */
export function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<PsqlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs the real `psql` against the gateway with an OIDC token as the password. */
export function psql(
  port: number,
  database: string,
  token: string,
  commands: readonly string[],
  opts: { sslmode?: string; extraArgs?: readonly string[] } = {},
): Promise<PsqlResult> {
  const args = [
    `host=127.0.0.1 port=${port} dbname=${database} user=gatehouse sslmode=${opts.sslmode ?? 'require'}`,
    '-X',
    '-A',
    '-t',
    '--set=VERBOSITY=verbose',
    ...(opts.extraArgs ?? []),
    ...commands.flatMap((c) => ['-c', c]),
  ];
  return run('psql', args, { ...process.env, PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' });
}

/** A `pg` driver client through the gateway (extended protocol for parameterised queries). */
export async function pgClient(port: number, database: string, token: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    database,
    user: 'gatehouse',
    password: token,
    ssl: { rejectUnauthorized: false },
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  return client;
}
