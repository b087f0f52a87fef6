import { chmodSync, chownSync, copyFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { stackValue } from '../../test/support/stack.js';
import { portOpen, startChildService, waitReady } from './child-service.js';
import type { ChildService } from './child-service.js';

/** The comparison peer: one PgBouncer (session pooling) in front of the stack's pgbench database. */
export type PgBouncer = ChildService & { readonly port: number; readonly database: string };

export type PgBouncerOptions = {
  dir: string;
  port: number;
  /** The upstream user's password (PgBouncer's auth_file, SCRAM to the client and to PostgreSQL). */
  password: string;
  /** Certificate and key for clients that ask for TLS (`client_tls_sslmode = allow`: plaintext clients too). */
  tls: { cert: string; key: string };
  readyTimeoutMs: number;
};

/**
 * pgbouncer.ini for one database `pgbench`. Clients choose TLS or not with their sslmode (`client_tls_sslmode =
 * allow`), so the plain and the TLS rows measure the same process; the server side is plaintext, as the gateway's.
 */
export function pgbouncerIni(o: Pick<PgBouncerOptions, 'dir' | 'port' | 'tls'>): string {
  return [
    '[databases]',
    `pgbench = host=${stackValue('PG_TARGET_HOST')} port=${stackValue('PG_TARGET_PORT')} dbname=${stackValue('PG_TARGET_PGBENCH_DATABASE')}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${o.port}`,
    'auth_type = scram-sha-256',
    `auth_file = ${join(o.dir, 'userlist.txt')}`,
    'pool_mode = session',
    'unix_socket_dir =',
    `logfile = ${join(o.dir, 'pgbouncer.log')}`,
    'client_tls_sslmode = allow',
    `client_tls_cert_file = ${o.tls.cert}`,
    `client_tls_key_file = ${o.tls.key}`,
    'server_tls_sslmode = disable',
    '',
  ].join('\n');
}

/**
 * Starts PgBouncer in `dir`. Run as root it switches to `postgres` (`-u`), so its files are handed to that user;
 * the pid measured is PgBouncer's own (it does not daemonize).
 */
export async function startPgBouncer(o: PgBouncerOptions): Promise<PgBouncer> {
  const cert = join(o.dir, 'pgbouncer.crt');
  const key = join(o.dir, 'pgbouncer.key');
  copyFileSync(o.tls.cert, cert);
  copyFileSync(o.tls.key, key);
  chmodSync(key, 0o600);
  const user = stackValue('PG_TARGET_USER');
  writeFileSync(join(o.dir, 'userlist.txt'), `"${user}" "${o.password}"\n`, { mode: 0o600 });
  const ini = join(o.dir, 'pgbouncer.ini');
  writeFileSync(ini, pgbouncerIni({ ...o, tls: { cert, key } }));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    for (const f of [o.dir, cert, key, ini, join(o.dir, 'userlist.txt')]) {
      chownSync(f, Number(ids), Number(gid));
    }
  }
  const args = [...(asRoot ? ['-u', 'postgres'] : []), ini];
  const service = startChildService('pgbouncer', 'pgbouncer', args, join(o.dir, 'pgbouncer.out'));
  await waitReady(service, `a listener on port ${o.port}`, () => portOpen(o.port), o.readyTimeoutMs);
  return Object.assign(service, { port: o.port, database: 'pgbench' });
}
