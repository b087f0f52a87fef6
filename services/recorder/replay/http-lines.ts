import { safeBlock, safeInline } from './safe-text.js';

/**
 * Transcript lines of an HTTP exchange (services/gateway/http/response-events.ts records them):
 * - the request: `> METHOD TARGET` and an excerpt of the body the client sent;
 * - `http.head`: the status and the recorded response headers;
 * - `http.body`: an excerpt of the body as the client received it (already masked by the gateway);
 * - `http.error`: an answer the gateway gave itself (refusal, upstream failure), its JSON summarised.
 * Every excerpt is bounded; recorded text is attacker-controlled and goes through safeInline/safeBlock.
 */

/** Most lines of a body shown (the rest are counted). */
export const MAX_BODY_LINES = 40;
/** Most characters of a body shown. */
export const MAX_BODY_CHARS = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A body as at most MAX_BODY_LINES indented lines: JSON pretty-printed, text as is, binary as a byte count. */
export function bodyExcerpt(body: Buffer, indent = '  '): string[] {
  if (body.length === 0) return [];
  const text = decodeText(body);
  if (text === undefined) return [`${indent}(${body.length} bytes, binary)`];
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text) as unknown, null, 2);
  } catch {
    // not JSON: shown as text
  }
  const cut = shown.length > MAX_BODY_CHARS;
  const lines = safeBlock(cut ? shown.slice(0, MAX_BODY_CHARS) : shown).split('\n');
  const out = lines.slice(0, MAX_BODY_LINES).map((l) => `${indent}${l}`);
  const hiddenLines = lines.length - Math.min(lines.length, MAX_BODY_LINES);
  if (hiddenLines > 0 || cut) {
    out.push(
      `${indent}… ${cut ? `${shown.length - MAX_BODY_CHARS} more characters` : `${hiddenLines} more lines`}`,
    );
  }
  return out;
}

/** The `>` lines of a recorded HTTP request text (`METHOD TARGET`, then a blank line and the body). */
export function httpRequestLines(text: string): string[] {
  const split = text.indexOf('\n\n');
  const line = split < 0 ? text : text.slice(0, split);
  const lines = [`> ${safeInline(line)}`];
  if (split >= 0) lines.push(...bodyExcerpt(Buffer.from(text.slice(split + 2), 'utf8'), '> '));
  return lines;
}

/** The request of an HTTP text on one line (not yet made safe): `METHOD TARGET`, then `body: …` when it has one. */
export function httpRequestSummary(text: string): string {
  const split = text.indexOf('\n\n');
  return split < 0 ? text : `${text.slice(0, split)} body: ${text.slice(split + 2)}`;
}

function gatewayAnswer(text: string): string {
  try {
    const v = JSON.parse(text) as { error?: unknown; message?: unknown };
    const error = typeof v.error === 'string' ? v.error : '';
    const message = typeof v.message === 'string' ? v.message : '';
    return [error, message].filter(Boolean).join(': ') || text;
  } catch {
    return text;
  }
}

/** The lines of one recorded HTTP response frame. `at` is the elapsed-time prefix. */
export function httpResponseLines(
  at: string,
  frame: string,
  payload: Buffer,
  code: string,
  text: string,
): string[] {
  switch (frame) {
    case 'http.head': {
      const [status, ...headers] = safeBlock(text).split('\n');
      return [`${at} ${status ?? `HTTP ${safeInline(code)}`}`, ...headers.map((h) => `  ${h}`)];
    }
    case 'http.body':
      return [`${at} body (${safeInline(text || `${payload.length} bytes`)}):`, ...bodyExcerpt(payload)];
    case 'http.error':
      return [`${at} gateway answered ${safeInline(code)}: ${safeInline(gatewayAnswer(text))}`];
    default:
      return [`${at} ${safeInline(frame)}${text ? `: ${safeInline(text)}` : ''}`];
  }
}
