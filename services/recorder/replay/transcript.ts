import { httpRequestLines, httpResponseLines } from './http-lines.js';
import { joinContinuations } from './join-continuations.js';
import { mcpRequestLines, mcpResponseLines } from './mcp-lines.js';
import { decodeBackendMessages } from '../../shared/pg-wire/index.js';
import type { BackendMessage, NoticeFields, RowField } from '../../shared/pg-wire/index.js';
import type { RecordedEvent } from './recorded-event.js';
import { safeBlock, safeInline } from './safe-text.js';
import { formatValue, renderTable } from './table.js';

export type TranscriptOptions = {
  /** Most rows printed per result set; the rest are counted. Default 200. */
  maxRowsPerResult?: number;
};

const SHELL_FRAMES = new Set(['stdout', 'stderr']);

/** Largest wire message decoded from a recorded frame: no frame is bigger than what the gateway allows. */
const MAX_RECORDED_MESSAGE_BYTES = 256 * 1024 * 1024;

function isoTime(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString();
}

function elapsed(micros: number): string {
  const ms = micros / 1000;
  if (Math.abs(ms) < 1000) return `+${ms.toFixed(1)} ms`;
  return `+${(ms / 1000).toFixed(2)} s`;
}

function field(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function noticeLine(prefix: string, n: NoticeFields): string[] {
  const lines = [
    `${prefix}${safeInline(n.severity || 'ERROR')}${n.code ? ` ${safeInline(n.code)}` : ''}: ${safeInline(n.message)}`,
  ];
  if (n.detail) lines.push(`  DETAIL: ${safeInline(n.detail)}`);
  if (n.hint) lines.push(`  HINT: ${safeInline(n.hint)}`);
  return lines;
}

/** Renders one session's events as a readable transcript. Pure: events in, text out. */
export function renderTranscript(events: readonly RecordedEvent[], opts: TranscriptOptions = {}): string {
  return new TranscriptWriter(opts.maxRowsPerResult ?? 200).render(events);
}

type ResultSet = { fields: readonly RowField[]; rows: string[][]; hidden: number };

class TranscriptWriter {
  readonly #maxRows: number;
  readonly #out: string[] = [];
  #requestStart = new Map<number, number>();
  #sessionStart = 0;
  #result: ResultSet | undefined;
  /** The output stream (stdout/stderr) whose text is being continued, if any. */
  #stream: { key: string; open: boolean } | undefined;

  constructor(maxRows: number) {
    this.#maxRows = Math.max(0, maxRows);
  }

  render(input: readonly RecordedEvent[]): string {
    const seen = new Set<string>();
    const events = joinContinuations(
      [...input]
        .sort((a, b) => a.seq - b.seq || a.tsMicros - b.tsMicros)
        .filter((e) => (seen.has(e.eventId) ? false : (seen.add(e.eventId), true))),
    );
    if (events.length === 0) return '(no events)\n';
    this.#header(events);
    for (const e of events) this.#event(e);
    this.#endBlock();
    return `${this.#out.join('\n')}\n`;
  }

  #header(events: readonly RecordedEvent[]): void {
    const first = events[0]!;
    this.#sessionStart = first.tsMicros;
    const withIdentity = events.find((e) => e.identity.sub !== '' || e.identity.email !== '');
    const opened = events.find((e) => e.kind === 'session_opened');
    this.#out.push(
      `Session ${safeInline(first.sessionId)} (${safeInline(first.protocol || '?')}, connection ${safeInline(first.connection || '?')})`,
    );
    if (withIdentity) {
      const id = withIdentity.identity;
      const who = id.email ? `${id.email} (sub ${id.sub})` : id.sub;
      const groups = id.groups.length > 0 ? `, groups ${id.groups.join(',')}` : '';
      this.#out.push(`  identity: ${safeInline(who)}${safeInline(groups)}${id.agent ? ', agent' : ''}`);
    } else {
      this.#out.push('  identity: (not authenticated)');
    }
    const client = opened?.text ? `, client ${safeInline(opened.text)}` : '';
    this.#out.push(`  node: ${safeInline(first.nodeId)}${client}`);
    this.#out.push(`  opened: ${isoTime(first.tsMicros)}`);
  }

  #at(e: RecordedEvent): string {
    const start = this.#requestStart.get(e.requestId) ?? this.#sessionStart;
    return `[${elapsed(e.tsMicros - start)}]`;
  }

  #event(e: RecordedEvent): void {
    if (e.kind !== 'response' || !SHELL_FRAMES.has(e.frame)) this.#closeStream();
    switch (e.kind) {
      case 'session_opened':
        return;
      case 'request':
        this.#endBlock();
        this.#requestStart.set(e.requestId, e.tsMicros);
        this.#out.push('');
        this.#out.push(`#${e.requestId} ${safeInline(e.requestKind || 'request')} @ ${isoTime(e.tsMicros)}`);
        this.#out.push(...this.#statementLines(e));
        return;
      case 'decision': {
        const verdict = (e.decision || 'unknown').toUpperCase();
        const policy = e.policyRevision ? ` (policy ${safeInline(e.policyRevision)})` : '';
        const reasons = e.reasons.length > 0 ? ` — ${safeInline(e.reasons.join('; '))}` : '';
        this.#out.push(`${this.#at(e)} decision: ${verdict}${policy}${reasons}`);
        return;
      }
      case 'approval_requested': {
        const groups = strings(field(e.event, 'approvalRequested', 'groups'));
        const url = str(field(e.event, 'approvalRequested', 'approveUrl'));
        const reasons = e.reasons.length > 0 ? ` — ${safeInline(e.reasons.join('; '))}` : '';
        this.#out.push(
          `${this.#at(e)} approval requested ${safeInline(e.approvalId)}` +
            `${groups.length > 0 ? ` from ${safeInline(groups.join(','))}` : ''}${reasons}${url ? ` (${safeInline(url)})` : ''}`,
        );
        return;
      }
      case 'approval_decided': {
        const by = e.reviewer ? ` by ${safeInline(e.reviewer)}` : '';
        const why = e.text ? `: ${safeInline(e.text)}` : '';
        this.#out.push(
          `${this.#at(e)} approval ${safeInline(e.approvalId)} ${safeInline(e.code || 'decided')}${by}${why}`,
        );
        return;
      }
      case 'approval_reviewed': {
        const by = e.reviewer ? ` by ${safeInline(e.reviewer)}` : '';
        const why = e.text ? `: ${safeInline(e.text)}` : '';
        this.#out.push(
          `${this.#at(e)} approval ${safeInline(e.approvalId)} reviewed: ${safeInline(e.code || '?')}${by}${why}`,
        );
        return;
      }
      case 'response':
        this.#response(e);
        return;
      case 'audit_failure': {
        const seqs = strings(field(e.event, 'auditFailure', 'refusedSeqs'));
        this.#out.push(
          `${this.#at(e)} AUDIT FAILURE ${safeInline(e.code)}: events ${safeInline(seqs.join(', '))} were refused ` +
            `by the log and are missing — ${safeInline(e.text)}`,
        );
        return;
      }
      case 'session_closed': {
        this.#endBlock();
        const requests = str(field(e.event, 'sessionClosed', 'requests'));
        const duration = Number(str(field(e.event, 'sessionClosed', 'durationMicros')) || '0');
        const parts = [e.text ? `reason: ${safeInline(e.text)}` : '', requests ? `${requests} requests` : ''];
        if (duration > 0) parts.push(`duration ${elapsed(duration).slice(1)}`);
        this.#out.push('');
        this.#out.push(
          `Session closed @ ${isoTime(e.tsMicros)}${parts.some(Boolean) ? ` (${parts.filter(Boolean).join(', ')})` : ''}`,
        );
        return;
      }
      case 'mcp_tool_changed':
        this.#out.push(
          `${this.#at(e)} TOOL DEFINITION CHANGED ${safeInline(e.text)}: ${safeInline(e.reasons.join(', '))} (${safeInline(e.code)})`,
        );
        return;
      default:
        this.#out.push(`${this.#at(e)} ${safeInline(e.kind)} event`);
    }
  }

  #statementLines(e: RecordedEvent): string[] {
    if (e.statement === '') return e.requestKind === 'ssh.shell' ? ['> (interactive shell)'] : ['> (empty)'];
    if (e.protocol === 'mcp' || e.requestKind.startsWith('mcp.')) return mcpRequestLines(e.statement);
    if (e.protocol === 'http' || e.requestKind.startsWith('http.')) return httpRequestLines(e.statement);
    return safeBlock(e.statement)
      .split('\n')
      .map((l) => `> ${l}`);
  }

  #response(e: RecordedEvent): void {
    const payload = Buffer.from(e.payload, 'base64');
    if (e.frame.startsWith('mcp.')) {
      this.#endBlock();
      this.#out.push(...mcpResponseLines(this.#at(e), e.frame, payload, e.code, e.text));
      return;
    }
    if (e.frame.startsWith('http.')) {
      this.#endBlock();
      this.#out.push(...httpResponseLines(this.#at(e), e.frame, payload, e.code, e.text));
      return;
    }
    if (
      e.protocol === 'ssh' ||
      SHELL_FRAMES.has(e.frame) ||
      ['stdin', 'exit_status', 'signal', 'window_change'].includes(e.frame)
    ) {
      this.#shellFrame(e, payload);
      return;
    }
    let messages: BackendMessage[];
    try {
      messages = decodeBackendMessages(payload, { maxMessageSize: MAX_RECORDED_MESSAGE_BYTES });
    } catch (err) {
      this.#endBlock();
      this.#out.push(
        `${this.#at(e)} ${safeInline(e.frame)}: undecodable payload (${payload.length} bytes): ${(err as Error).message}`,
      );
      return;
    }
    if (messages.length === 0) {
      this.#fallback(e);
      return;
    }
    for (const m of messages) this.#pgMessage(e, m);
  }

  /** A frame recorded without wire bytes: use the summary fields. */
  #fallback(e: RecordedEvent): void {
    if (e.frame === 'command_complete' && e.text) {
      this.#endBlock();
      this.#out.push(`${this.#at(e)} ${safeInline(e.text)}`);
    } else if (e.frame === 'error' || e.frame === 'notice') {
      this.#endBlock();
      const label = e.frame === 'error' ? 'ERROR' : 'NOTICE';
      this.#out.push(
        `${this.#at(e)} ${label}${e.code ? ` ${safeInline(e.code)}` : ''}: ${safeInline(e.text)}`,
      );
    }
  }

  #pgMessage(e: RecordedEvent, m: BackendMessage): void {
    switch (m.type) {
      case 'RowDescription':
        this.#endBlock();
        this.#out.push(`${this.#at(e)} result:`);
        this.#result = { fields: m.fields, rows: [], hidden: 0 };
        return;
      case 'DataRow': {
        const rs = (this.#result ??= { fields: m.values.map((_, i) => unnamed(i)), rows: [], hidden: 0 });
        if (rs.rows.length < this.#maxRows) {
          rs.rows.push(m.values.map((v, i) => formatValue(v, rs.fields[i]?.format ?? 0)));
        } else {
          rs.hidden++;
        }
        return;
      }
      case 'CommandComplete':
        this.#endBlock();
        this.#out.push(`${this.#at(e)} ${safeInline(m.tag)}`);
        return;
      case 'ErrorResponse':
        this.#endBlock();
        this.#out.push(...noticeLine(`${this.#at(e)} `, m.fields));
        return;
      case 'NoticeResponse':
        this.#out.push(...noticeLine(`${this.#at(e)} `, m.fields));
        return;
      case 'EmptyQueryResponse':
        this.#out.push(`${this.#at(e)} (empty query)`);
        return;
      default:
        return; // ReadyForQuery, ParameterStatus and the rest print nothing
    }
  }

  #shellFrame(e: RecordedEvent, payload: Buffer): void {
    switch (e.frame) {
      case 'stdout':
      case 'stderr': {
        const key = `${e.requestId}:${e.frame}`;
        if (this.#stream?.key !== key) {
          this.#closeStream();
          this.#out.push(`${this.#at(e)} ${e.frame}:`);
          this.#stream = { key, open: false };
        }
        const text = safeBlock(payload.toString('utf8'));
        if (text === '') return;
        const lines = text.split('\n');
        // Continue the last line when the previous chunk ended mid-line.
        if (this.#stream.open && lines.length > 0) this.#out[this.#out.length - 1] += lines.shift()!;
        this.#out.push(...lines);
        this.#stream.open = !text.endsWith('\n');
        if (!this.#stream.open) this.#out.pop(); // the empty string after the final newline
        return;
      }
      case 'stdin':
        this.#out.push(`${this.#at(e)} stdin: ${safeInline(payload.toString('utf8'))}`);
        return;
      case 'exit_status':
        this.#out.push(`${this.#at(e)} exit status ${safeInline(e.code || e.text)}`);
        return;
      case 'signal':
        this.#out.push(`${this.#at(e)} signal ${safeInline(e.text || e.code)}`);
        return;
      default:
        this.#out.push(`${this.#at(e)} ${safeInline(e.frame)}${e.text ? `: ${safeInline(e.text)}` : ''}`);
    }
  }

  #closeStream(): void {
    this.#stream = undefined;
  }

  /** Prints the pending result set, if any. */
  #endBlock(): void {
    const rs = this.#result;
    if (!rs) return;
    this.#result = undefined;
    this.#out.push(...renderTable(rs.fields, rs.rows, rs.hidden));
  }
}

function unnamed(i: number): RowField {
  return {
    name: `?column${i + 1}?`,
    tableOid: 0,
    columnAttr: 0,
    typeOid: 0,
    typeSize: -1,
    typeMod: -1,
    format: 0,
  };
}
