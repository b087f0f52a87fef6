import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { safeInline } from '../replay/safe-text.js';
import { TIMELINE_PROTOCOLS } from '../replay/timeline-entry.js';
import type { TimelineResponse } from '../replay/timeline-entry.js';
import { alignedTable } from './aligned-table.js';
import { parseLimit, processIo, QUERY_OPTIONS, queryFormat, recorderApi } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { fetchTimeline } from './replay-client.js';
import { reportCliError } from './run-sessions.js';
import { parseSince } from './time-args.js';

export const TIMELINE_USAGE = `usage: gatehouse timeline --identity SUB_OR_EMAIL [--since 1h|ISO] [--until 10m|ISO]
                          [--connection NAME] [--protocol postgres|ssh|mcp|http] [--limit N]
                          [--format text|json] [--recorder URL] [--token TOKEN]
One identity's requests across SQL, SSH, MCP and HTTP sessions, oldest first: time, protocol,
connection, session, request kind, the request, the decision and its reasons. The identity matches
the subject or the email exactly. --since defaults to 1h, --until to now; --limit is 1 to 1000
(default 200). The recorder URL defaults to $GATEHOUSE_RECORDER_URL; the access token (of an
allowed group, soc by default) is --token or $GATEHOUSE_TOKEN.
`;

const MAX_LIMIT = 1000;

/** The decision cell: allow, deny, refused, approval:<how it ended>, or - when undecided. */
function decisionCell(decision: string, approval: string): string {
  if (decision === 'approval') return approval ? `approval:${approval}` : 'approval';
  return decision || '-';
}

/** Formats a timeline as aligned columns, the request and its reasons last. Pure. */
export function formatTimeline(t: TimelineResponse): string {
  if (t.entries.length === 0) return `no requests of ${safeInline(t.identity)} from ${t.from} to ${t.to}\n`;
  const header = ['TIME', 'PROTOCOL', 'CONNECTION', 'SESSION', 'REQ', 'KIND', 'DECISION', 'REQUEST'];
  const rows = t.entries.map((e) => {
    const reasons = e.reasons.length > 0 ? ` — ${e.reasons.join('; ')}` : '';
    return [
      e.at,
      e.protocol || '-',
      e.connection || '-',
      e.sessionId,
      String(e.requestId),
      e.requestKind || '-',
      decisionCell(e.decision, e.approval),
      `${e.text}${reasons}`,
    ].map(safeInline);
  });
  const more = t.truncated ? `… more requests matched: narrow the window or raise --limit\n` : '';
  return alignedTable(header, rows, new Set([4])) + more;
}

/** `gatehouse timeline …`: 0 on success, 1 when the recorder fails, 2 on bad arguments. */
export async function runTimeline(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...QUERY_OPTIONS, protocol: { type: 'string' } },
    });
    if (values.help) {
      io.stdout(TIMELINE_USAGE);
      return 0;
    }
    if (values.identity === undefined || values.identity.trim() === '')
      throw new UsageError('--identity: a subject or email is required');
    if (values.identity.length > 512) throw new UsageError('--identity: at most 512 characters');
    const format = queryFormat(values.format);
    const protocol = values.protocol;
    if (protocol !== undefined && !(TIMELINE_PROTOCOLS as readonly string[]).includes(protocol))
      throw new UsageError(`--protocol: one of ${TIMELINE_PROTOCOLS.join(', ')}`);
    if (values.connection === '') throw new UsageError('--connection: a connection name');
    const limit = parseLimit(values.limit, MAX_LIMIT);
    const now = io.now();
    const from = parseSince(values.since ?? '1h', now);
    const to = values.until === undefined ? undefined : parseSince(values.until, now, '--until');
    if (to !== undefined && from >= to) throw new UsageError('--since must be before --until');
    const timeline = await fetchTimeline(io, recorderApi(values, io), {
      identity: values.identity,
      from,
      to,
      connection: values.connection,
      protocol,
      limit,
    });
    io.stdout(format === 'json' ? `${JSON.stringify(timeline, null, 2)}\n` : formatTimeline(timeline));
    return 0;
  } catch (err) {
    return reportCliError(err, io, TIMELINE_USAGE);
  }
}
