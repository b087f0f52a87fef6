import { create } from '@bufbuild/protobuf';
import { ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { SessionAudit } from '../session-audit.js';

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
  const lines = [`HTTP ${status}`];
  for (const name of recorded) {
    const v = headers[name];
    if (v !== undefined) lines.push(`${name}: ${Array.isArray(v) ? v.join(', ') : v}`);
  }
  audit.batched({
    case: 'response',
    value: create(ResponseSchema, {
      requestId,
      frame: 'http.head',
      code: String(status),
      text: lines.join('\n'),
    }),
  });
}

export function recordBody(audit: SessionAudit, requestId: number, data: Buffer, total: number): void {
  const text = data.length < total ? `${total} bytes, first ${data.length} recorded` : `${total} bytes`;
  audit.batched({
    case: 'response',
    value: create(ResponseSchema, { requestId, frame: 'http.body', data, text }),
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
    value: create(ResponseSchema, { requestId, frame: 'http.error', code: String(status), text: json }),
  });
}
