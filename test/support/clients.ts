import { spawnSync } from 'node:child_process';
import pg from 'pg';

export type PsqlResult = { status: number; stdout: string; stderr: string };

/** Runs the real `psql` against the gateway with an OIDC token as the password. */
export function psql(
  port: number,
  database: string,
  token: string,
  commands: readonly string[],
  opts: { sslmode?: string; extraArgs?: readonly string[] } = {},
): PsqlResult {
  const args = [
    `host=127.0.0.1 port=${port} dbname=${database} user=gatehouse sslmode=${opts.sslmode ?? 'require'}`,
    '-X',
    '-A',
    '-t',
    '--set=VERBOSITY=verbose',
    ...(opts.extraArgs ?? []),
    ...commands.flatMap((c) => ['-c', c]),
  ];
  const r = spawnSync('psql', args, {
    env: { ...process.env, PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
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
