import { parseArgs } from 'node:util';
import { GatehouseError } from '../../shared/errors.js';
import { UsageError } from '../errors.js';
import type { SessionSummary } from '../replay/recorded-event.js';
import { safeInline } from '../replay/safe-text.js';
import { alignedTable } from './aligned-table.js';
import { parseLimit, processIo, QUERY_OPTIONS, queryFormat, recorderApi } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { fetchSessions } from './replay-client.js';
import { parseSince } from './time-args.js';

export const SESSIONS_USAGE = `usage: gatehouse sessions [--identity SUB_OR_EMAIL] [--connection NAME] [--since 1h|ISO]
                          [--until ISO] [--limit N] [--recorder URL] [--token TOKEN] [--format text|json]

Lists recorded sessions, newest first. The recorder URL defaults to $GATEHOUSE_RECORDER_URL; the access
token (of an allowed group, soc by default) is --token or $GATEHOUSE_TOKEN.
`;

/** Formats sessions as an aligned table. Pure. */
export function formatSessions(sessions: readonly SessionSummary[]): string {
  if (sessions.length === 0) return 'no sessions\n';
  const header = [
    'STARTED',
    'SESSION',
    'IDENTITY',
    'CONNECTION',
    'PROTOCOL',
    'REQUESTS',
    'DENIED',
    'ROWS',
    'STATE',
  ];
  const rows = sessions
    .map((s) => [
      s.startedAt,
      s.sessionId,
      s.identity.email || s.identity.sub || '-',
      s.connection || '-',
      s.protocol || '-',
      String(s.requests),
      String(s.denied),
      String(s.rowsReturned),
      s.closed ? `closed${s.closeReason ? ` (${s.closeReason})` : ''}` : 'open',
    ])
    .map((r) => r.map(safeInline));
  return alignedTable(header, rows, new Set([5, 6, 7]));
}

/** `gatehouse sessions …`: 0 on success, 1 when the recorder fails, 2 on bad arguments. */
export async function runSessions(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: QUERY_OPTIONS,
    });
    if (values.help) {
      io.stdout(SESSIONS_USAGE);
      return 0;
    }
    const format = queryFormat(values.format);
    const limit = parseLimit(values.limit, 1000);
    const now = io.now();
    const sessions = await fetchSessions(io, recorderApi(values, io), {
      identity: values.identity,
      connection: values.connection,
      from: values.since === undefined ? undefined : parseSince(values.since, now),
      to: values.until === undefined ? undefined : parseSince(values.until, now),
      limit,
    });
    io.stdout(format === 'json' ? `${JSON.stringify({ sessions }, null, 2)}\n` : formatSessions(sessions));
    return 0;
  } catch (err) {
    return reportCliError(err, io, SESSIONS_USAGE);
  }
}

/** Prints an error the way every recorder CLI command does; returns the exit code. */
export function reportCliError(err: unknown, io: CliIo, usage: string): number {
  const usageError =
    err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  if (usageError) {
    io.stderr(`gatehouse: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  io.stderr(`gatehouse: ${err instanceof GatehouseError ? err.message : (err as Error).message}\n`);
  return 1;
}
