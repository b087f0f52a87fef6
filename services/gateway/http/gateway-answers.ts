import type { ServerResponse } from 'node:http';

/** The JSON body of every answer the gateway gives itself (never the upstream's). */
export type GatewayAnswer = {
  readonly error: string;
  readonly message: string;
  readonly reasons?: readonly string[];
  readonly policyRevision?: string;
  readonly approvalId?: string;
};

/** Writes a gateway answer (JSON) unless headers already went out; returns the text sent ('' when none). */
export function sendAnswer(
  res: ServerResponse,
  status: number,
  answer: GatewayAnswer,
  headers: Record<string, string> = {},
): string {
  const text = JSON.stringify(answer);
  if (res.headersSent || res.destroyed) return '';
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  res.end(text);
  return text;
}
