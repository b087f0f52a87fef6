import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** The demo tables of the local stack (customers and orders with fake PII), the same file the stack seeds from. */
const SEED_SQL = fileURLToPath(new URL('../../deploy/stack/postgres/seed-demo.sql', import.meta.url));

export type PgliteServerOptions = {
  /** Where PGlite keeps its files (created and seeded on first start). */
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Client connections served at once (queries run one at a time inside PGlite). */
  maxConnections?: number;
};

export type RunningPglite = {
  readonly host: string;
  readonly port: number;
  /** PGlite has one database and one user; any password is accepted. */
  readonly database: string;
  readonly user: string;
  stop(): Promise<void>;
};

/**
 * The demo upstream database of `npm start`: PostgreSQL compiled to WebAssembly (PGlite, inside its npm package)
 * behind a real PostgreSQL wire endpoint (pglite-socket), seeded with the stack's demo tables. No server to
 * install; the gateway reaches it as it reaches any PostgreSQL.
 */
export async function startPgliteServer(opts: PgliteServerOptions): Promise<RunningPglite> {
  const db = await PGlite.create({ dataDir: opts.dataDir });
  try {
    const seeded = await db.query<{ missing: boolean }>(
      `SELECT to_regclass('public.orders') IS NULL AS missing`,
    );
    if (seeded.rows[0]?.missing !== false) await db.exec(readFileSync(SEED_SQL, 'utf8')); // idempotent
  } catch (err) {
    await db.close();
    throw err;
  }
  const server = new PGLiteSocketServer({
    db,
    host: opts.host,
    port: opts.port,
    maxConnections: opts.maxConnections ?? 32,
  });
  await server.start();
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1)) || opts.port;
  return {
    host: opts.host,
    port,
    database: 'postgres',
    user: 'postgres',
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
