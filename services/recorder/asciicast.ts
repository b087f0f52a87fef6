import { StringDecoder } from 'node:string_decoder';
import type { Event } from '../../proto/gen/gatehouse/v1/events_pb.js';

export type AsciicastOptions = {
  /** The request (channel) to export. Default: the first shell, else the first exec with a pty, else the first exec. */
  requestId?: number;
  /** Also export client input (`stdin` frames) as "i" events. Default false (input may hold typed secrets). */
  input?: boolean;
};

const DEFAULT_SIZE = { width: 80, height: 24 };

/**
 * Converts one recorded SSH session (decoded `Event` envelopes, in any order, duplicates allowed) into an
 * asciicast v2 recording (https://docs.asciinema.org/manual/asciicast/v2/) of one of its channels: a header line
 * `{version: 2, width, height, timestamp, env: {TERM}}`, then `[seconds, "o", text]` for every stdout and stderr
 * frame (what the client's terminal showed, after masking), `[seconds, "r", "COLSxROWS"]` for window changes and,
 * optionally, `[seconds, "i", text]` for input. Times are relative to the request. Pure.
 */
export function toAsciicast(events: readonly Event[], opts: AsciicastOptions = {}): string {
  const ordered = orderedSession(events);
  const requests = ordered.flatMap((e) =>
    e.body.case === 'request' ? [{ event: e, request: e.body.value }] : [],
  );
  const frames = ordered.flatMap((e) =>
    e.body.case === 'response' ? [{ event: e, frame: e.body.value }] : [],
  );
  const hasPty = (id: number): boolean =>
    frames.some((f) => f.frame.requestId === id && f.frame.frame === 'pty');
  const chosen =
    opts.requestId !== undefined
      ? requests.find((r) => r.request.requestId === opts.requestId)
      : (requests.find((r) => r.request.kind === 'ssh.shell') ??
        requests.find((r) => r.request.kind === 'ssh.exec' && hasPty(r.request.requestId)) ??
        requests.find((r) => r.request.kind === 'ssh.exec'));
  const requestId = chosen?.request.requestId ?? opts.requestId ?? 0;
  const own = frames.filter((f) => f.frame.requestId === requestId);
  const pty = own.find((f) => f.frame.frame === 'pty')?.frame;
  const firstResize = own.find((f) => f.frame.frame === 'window_change')?.frame;
  const size = parseSize(pty?.code) ?? parseSize(firstResize?.code) ?? DEFAULT_SIZE;
  const start = chosen?.event.tsMicros ?? own[0]?.event.tsMicros ?? ordered[0]?.tsMicros ?? 0n;
  const header: Record<string, unknown> = {
    version: 2,
    width: size.width,
    height: size.height,
    timestamp: Number(start / 1_000_000n),
    env: { TERM: pty?.text || 'xterm' },
  };
  if (chosen && chosen.request.kind === 'ssh.exec') header.title = chosen.request.text;
  const lines = [JSON.stringify(header)];
  const decoders = new Map<string, StringDecoder>();
  const decode = (stream: string, data: Uint8Array): string => {
    let d = decoders.get(stream);
    if (!d) decoders.set(stream, (d = new StringDecoder('utf8')));
    return d.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  };
  for (const { event, frame } of own) {
    const t = seconds(event.tsMicros - start);
    switch (frame.frame) {
      case 'stdout':
      case 'stderr': {
        const text = decode(frame.frame, frame.data);
        if (text !== '') lines.push(JSON.stringify([t, 'o', text]));
        break;
      }
      case 'stdin':
        if (opts.input) {
          const text = decode('stdin', frame.data);
          if (text !== '') lines.push(JSON.stringify([t, 'i', text]));
        }
        break;
      case 'window_change': {
        const s = parseSize(frame.code);
        if (s) lines.push(JSON.stringify([t, 'r', `${s.width}x${s.height}`]));
        break;
      }
      default:
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The events of the first session found, de-duplicated by event id, in sequence order. */
function orderedSession(events: readonly Event[]): Event[] {
  const sessionId = events[0]?.sessionId;
  const seen = new Set<string>();
  const out: Event[] = [];
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
