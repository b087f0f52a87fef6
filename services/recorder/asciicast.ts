import { StringDecoder } from 'node:string_decoder';
import type { Event } from '../../proto/gen/gatehouse/v1/events_pb.js';
import type { RecordedEvent } from './replay/recorded-event.js';
import { joinContinuations } from './replay/join-continuations.js';

export type AsciicastOptions = {
  /** The request (channel) to export. Default: the first shell, else the first exec with a pty, else the first exec. */
  requestId?: number;
  /** Also export client input (`stdin` frames) as "i" events. Default false (input may hold typed secrets). */
  input?: boolean;
};

/**
 * What a terminal recording needs of one event, whatever it was read from (a protobuf `Event` off Kafka, or a
 * `gatehouse.events` row via the replay API). Other event kinds are `'other'` and ignored.
 */
export type TerminalEvent = {
  eventId: string;
  sessionId: string;
  seq: bigint;
  tsMicros: bigint;
  kind: 'request' | 'response' | 'other';
  requestId: number;
  /** Request kind (`ssh.shell`, `ssh.exec`, …) on requests. */
  requestKind: string;
  /** The command line of an exec request. */
  requestText: string;
  /** Response frame (`stdout`, `stderr`, `stdin`, `pty`, `window_change`, …). */
  frame: string;
  code: string;
  text: string;
  /** The exact channel bytes of a response. */
  data: Uint8Array;
};

export type Asciicast = {
  /** The asciicast v2 text: a header line, then one event per line, newline-terminated. */
  cast: string;
  /** The exported request id (0 when the session has none). */
  requestId: number;
  /** How many "o" events the recording holds (0: nothing to play). */
  outputEvents: number;
};

const DEFAULT_SIZE = { width: 80, height: 24 };

/**
 * The pure core: one recorded SSH session (events in any order, duplicates allowed) as an asciicast v2 recording
 * (https://docs.asciinema.org/manual/asciicast/v2/) of one of its channels: a header line
 * `{version: 2, width, height, timestamp, env: {TERM}}`, then `[seconds, "o", text]` for every stdout and stderr
 * frame (what the client's terminal showed, after masking), `[seconds, "r", "COLSxROWS"]` for window changes and,
 * optionally, `[seconds, "i", text]` for input. Times are relative to the request.
 */
export function buildAsciicast(events: readonly TerminalEvent[], opts: AsciicastOptions = {}): Asciicast {
  const ordered = orderedSession(events);
  const requests = ordered.filter((e) => e.kind === 'request');
  const frames = ordered.filter((e) => e.kind === 'response');
  const hasPty = (id: number): boolean => frames.some((f) => f.requestId === id && f.frame === 'pty');
  const chosen =
    opts.requestId !== undefined
      ? requests.find((r) => r.requestId === opts.requestId)
      : (requests.find((r) => r.requestKind === 'ssh.shell') ??
        requests.find((r) => r.requestKind === 'ssh.exec' && hasPty(r.requestId)) ??
        requests.find((r) => r.requestKind === 'ssh.exec'));
  const requestId = chosen?.requestId ?? opts.requestId ?? 0;
  const own = frames.filter((f) => f.requestId === requestId);
  const pty = own.find((f) => f.frame === 'pty');
  const firstResize = own.find((f) => f.frame === 'window_change');
  const size = parseSize(pty?.code) ?? parseSize(firstResize?.code) ?? DEFAULT_SIZE;
  const start = chosen?.tsMicros ?? own[0]?.tsMicros ?? ordered[0]?.tsMicros ?? 0n;
  const header: Record<string, unknown> = {
    version: 2,
    width: size.width,
    height: size.height,
    timestamp: Number(start / 1_000_000n),
    env: { TERM: pty?.text || 'xterm' },
  };
  if (chosen && chosen.requestKind === 'ssh.exec') header.title = chosen.requestText;
  const lines = [JSON.stringify(header)];
  let outputEvents = 0;
  const decoders = new Map<string, StringDecoder>();
  const decode = (stream: string, data: Uint8Array): string => {
    let d = decoders.get(stream);
    if (!d) decoders.set(stream, (d = new StringDecoder('utf8')));
    return d.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  };
  for (const f of own) {
    const t = seconds(f.tsMicros - start);
    switch (f.frame) {
      case 'stdout':
      case 'stderr': {
        const text = decode(f.frame, f.data);
        if (text !== '') {
          lines.push(JSON.stringify([t, 'o', text]));
          outputEvents++;
        }
        break;
      }
      case 'stdin':
        if (opts.input) {
          const text = decode('stdin', f.data);
          if (text !== '') lines.push(JSON.stringify([t, 'i', text]));
        }
        break;
      case 'window_change': {
        const s = parseSize(f.code);
        if (s) lines.push(JSON.stringify([t, 'r', `${s.width}x${s.height}`]));
        break;
      }
      default:
        break;
    }
  }
  return { cast: `${lines.join('\n')}\n`, requestId, outputEvents };
}

/** The Kafka path: decoded `Event` envelopes (as the SSH gateway publishes them) to asciicast v2 text. Pure. */
export function toAsciicast(events: readonly Event[], opts: AsciicastOptions = {}): string {
  return buildAsciicast(events.map(fromEvent), opts).cast;
}

/**
 * The ClickHouse path: the replay API's events (`payload` = base64 of the exact bytes), in seq order; events split
 * into continuation frames are reassembled first. Pure.
 */
export function recordedToAsciicast(
  events: readonly RecordedEvent[],
  opts: AsciicastOptions = {},
): Asciicast {
  return buildAsciicast(joinContinuations(events).map(fromRecorded), opts);
}

export function fromEvent(e: Event): TerminalEvent {
  const base = {
    eventId: e.eventId,
    sessionId: e.sessionId,
    seq: e.seq,
    tsMicros: e.tsMicros,
    requestId: 0,
    requestKind: '',
    requestText: '',
    frame: '',
    code: '',
    text: '',
    data: new Uint8Array(0),
  };
  const body = e.body;
  if (body.case === 'request') {
    const { requestId, kind, text } = body.value;
    return { ...base, kind: 'request', requestId, requestKind: kind, requestText: text };
  }
  if (body.case === 'response') {
    const { requestId, frame, code, text, data } = body.value;
    return { ...base, kind: 'response', requestId, frame, code, text, data };
  }
  return { ...base, kind: 'other' };
}

export function fromRecorded(e: RecordedEvent): TerminalEvent {
  const kind = e.kind === 'request' || e.kind === 'response' ? e.kind : 'other';
  return {
    eventId: e.eventId,
    sessionId: e.sessionId,
    seq: BigInt(e.seq),
    tsMicros: BigInt(Math.trunc(e.tsMicros)),
    kind,
    requestId: e.requestId,
    requestKind: e.requestKind,
    requestText: e.statement,
    frame: kind === 'response' ? e.frame : '',
    code: e.code,
    text: e.text,
    data: kind === 'response' ? Buffer.from(e.payload, 'base64') : new Uint8Array(0),
  };
}

/** The events of the first session found, de-duplicated by event id, in sequence order. */
function orderedSession(events: readonly TerminalEvent[]): TerminalEvent[] {
  const sessionId = events[0]?.sessionId;
  const seen = new Set<string>();
  const out: TerminalEvent[] = [];
  for (const e of events) {
    if (e.sessionId !== sessionId || seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    out.push(e);
  }
  return out.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
}

function parseSize(code: string | undefined): { width: number; height: number } | undefined {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(code ?? '');
  if (!m) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2]);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

function seconds(micros: bigint): number {
  return Math.max(0, Number(micros)) / 1e6;
}
