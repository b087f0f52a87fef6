import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT } from '../../services/shared/runtime/exit-codes.js';
import { startEmbedded } from './start-embedded.js';
import type { RunningEmbedded } from './start-embedded.js';

export const RUN_EMBEDDED_USAGE = `usage: npm start [-- --reset] [--dir DIR] [--host HOST]
       gatehouse dev [--reset] [--dir DIR] [--host HOST]

Runs all of Gatehouse in one process for a trial on one machine: the dev OIDC provider, a demo PostgreSQL
(PGlite), the approval service, a gateway (PostgreSQL listener) and the recorder, with an embedded event log and
an embedded DuckDB store instead of Kafka and ClickHouse. All state lives in DIR (default .gatehouse, git-ignored);
DIR/env holds the addresses. Ports 23000-23010. Ctrl-C stops.

  --reset   wipe DIR first (a fresh demo database, no recordings)
`;

export type RunEmbeddedIo = {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  signal?: AbortSignal;
};

/** The lines `npm start` prints once ready (the same commands as `cluster:up`'s, with this mode's addresses). */
export function readyLines(r: RunningEmbedded, dir: string): string {
  const e = r.env;
  const cli = 'npm run -s gatehouse --';
  return `
Gatehouse is running in one process (state in ${dir}, addresses in ${dir}/env; policy ${r.policyRevision}).
Connect as an AI agent with psql:

  export PGPASSWORD=$(${cli} token --issuer ${e.GATEHOUSE_OIDC_ISSUER} --user agent-1 --agent)
  psql "host=${e.GATEHOUSE_PG_HOST} port=${e.GATEHOUSE_PG_PORT} dbname=demo-pg user=agent-1 sslmode=disable"

The demo MCP server's tools and the demo HTTP API, through the gateway (the same token as a bearer):
  MCP endpoint: ${e.GATEHOUSE_MCP_URL}
  curl -H "Authorization: Bearer $PGPASSWORD" ${e.GATEHOUSE_HTTP_URL}/customers

Sessions and replays (analysts of group soc; the web pages log in at the dev IdP as soc-analyst): ${e.GATEHOUSE_RECORDER_URL}/
  GATEHOUSE_TOKEN=$(${cli} token --issuer ${e.GATEHOUSE_OIDC_ISSUER} --user sam --groups soc) \\
    ${cli} sessions --recorder ${e.GATEHOUSE_RECORDER_URL}
Approvals (reviewer page): ${e.GATEHOUSE_APPROVAL_URL}/
  GATEHOUSE_TOKEN=$(${cli} token --issuer ${e.GATEHOUSE_OIDC_ISSUER} --user dora --groups dba) \\
    ${cli} approvals list --url ${e.GATEHOUSE_APPROVAL_URL}

Ctrl-C stops. The production shape (Kafka, ClickHouse, N gateways): npm run cluster:up.
`;
}

/** `npm start` / `gatehouse dev`: starts, prints the ready lines, runs until SIGINT/SIGTERM (or `io.signal`). */
export async function runEmbedded(argv: readonly string[], io: RunEmbeddedIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        reset: { type: 'boolean' },
        dir: { type: 'string', default: '.gatehouse' },
        host: { type: 'string', default: '127.0.0.1' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    stderr.write(`${(err as Error).message}\n${RUN_EMBEDDED_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    stdout.write(RUN_EMBEDDED_USAGE);
    return EXIT.ok;
  }
  const dir = resolve(values.dir);
  if (values.reset) rmSync(dir, { recursive: true, force: true });
  const started = performance.now();
  let running: RunningEmbedded;
  try {
    running = await startEmbedded({ dir, host: values.host });
  } catch (err) {
    stderr.write(`gatehouse: could not start: ${(err as Error).message} (logs: ${dir}/logs/gatehouse.log)\n`);
    return EXIT.unavailable;
  }
  const env = Object.entries(running.env).map(([k, v]) => `${k}=${v}\n`);
  writeFileSync(resolve(dir, 'env'), `GATEHOUSE_MODE=embedded\n${env.join('')}`);
  stdout.write(readyLines(running, values.dir));
  stdout.write(`(ready in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);

  await new Promise<void>((resolveStop) => {
    const onSignal = (): void => {
      process.once('SIGINT', () => process.exit(EXIT.interrupted));
      process.once('SIGTERM', () => process.exit(EXIT.interrupted));
      resolveStop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    io.signal?.addEventListener('abort', onSignal, { once: true });
  });
  stdout.write('stopping…\n');
  await running.stop();
  stdout.write('stopped\n');
  return EXIT.ok;
}
