import type { Response } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { SessionAudit } from '../session-audit.js';

const NO_DATA = new Uint8Array(0);

/**
 * A `response` body with every field written out (what `create(ResponseSchema, …)` builds, without its per-call
 * reflection: this runs twice per proxied request). Typed as `Response`, so a field added to the schema fails to
 * compile here.
 */
function response(
  requestId: number,
  frame: string,
  code: string,
  text: string,
  data: Uint8Array = NO_DATA,
): Response {
  return { $typeName: 'gatehouse.v1.Response', requestId, frame, data, rows: 0, text, code };
}

/**
 * The `response` events of one HTTP exchange (batched, like every protocol's responses). Frames:
 * - `http.head`: `code` = status, `text` = the status line plus the recorded response headers, one per line;
 * - `http.body`: `data` = the body as the client received it (masked; for a streamed body its first
 *   `recordResponseBytes`), `text` = `<n> bytes` plus `, first <m> recorded` when cut;
 * - `http.error`: a refusal or failure the gateway answered itself (`code` = status, `text` = the JSON it sent).
 * Events larger than the publisher's `maxEventBytes` become continuation frames (SessionAudit).
 */
export function recordHead(
  audit: SessionAudit,
  requestId: number,
  status: number,
  headers: Readonly<Record<string, string | string[]>>,
  recorded: readonly string[],
): void {
  let text = `HTTP ${status}`;
  for (const name of recorded) {
    const v = headers[name];
    if (v !== undefined) text += `\n${name}: ${Array.isArray(v) ? v.join(', ') : v}`;
  }
  audit.batched({ case: 'response', value: response(requestId, 'http.head', String(status), text) });
}

export function recordBody(audit: SessionAudit, requestId: number, data: Buffer, total: number): void {
  const text = data.length < total ? `${total} bytes, first ${data.length} recorded` : `${total} bytes`;
  audit.batched({
    case: 'response',
    value: response(requestId, 'http.body', '', text, data),
  });
}

export function recordGatewayAnswer(
  audit: SessionAudit,
  requestId: number,
  status: number,
  json: string,
): void {
  audit.batched({
    case: 'response',
    value: response(requestId, 'http.error', String(status), json),
  });
}
