import { safeBlock, safeInline } from './safe-text.js';

/** Most lines of one pretty-printed MCP result in a transcript (the rest is counted). */
const MAX_RESULT_LINES = 60;

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An MCP request as one line (not yet made safe for a terminal): `tools/call delete_customer {"id":3}` for a call
 * (tool name and arguments, read with a real JSON parser), the method for anything else, `(response to server
 * request ID)` for a client's response; undefined when the text is not a JSON-RPC object.
 */
export function mcpRequestSummary(text: string): string | undefined {
  const m = parse(text);
  if (!m) return undefined;
  if (typeof m.method !== 'string') return `(response to server request ${JSON.stringify(m.id ?? null)})`;
  const params = (m.params ?? {}) as Record<string, unknown>;
  const parts = [m.method];
  for (const k of ['name', 'uri']) if (typeof params[k] === 'string') parts.push(params[k]);
  if (params.arguments !== undefined) parts.push(JSON.stringify(params.arguments));
  return parts.join(' ');
}

/** The `>` lines of an MCP request (mcpRequestSummary); the recorded text itself when it is not JSON-RPC. */
export function mcpRequestLines(text: string): string[] {
  const summary = mcpRequestSummary(text);
  if (summary !== undefined) return [`> ${safeInline(summary)}`];
  return safeBlock(text)
    .split('\n')
    .map((l) => `> ${l}`);
}

/** The lines of one server-to-client MCP message as the client received it (already masked). */
export function mcpResponseLines(
  at: string,
  frame: string,
  payload: Buffer,
  code: string,
  summary: string,
): string[] {
  const m = parse(payload.toString('utf8'));
  const note = summary ? ` (${safeInline(summary)})` : '';
  switch (frame) {
    case 'mcp.error': {
      const err = (m?.error ?? {}) as { message?: unknown };
      const message = typeof err.message === 'string' ? err.message : summary;
      return [`${at} ERROR ${safeInline(code)}: ${safeInline(message)}`];
    }
    case 'mcp.notification':
    case 'mcp.request':
      return [
        `${at} server ${frame.slice(4)}: ${safeInline(typeof m?.method === 'string' ? m.method : summary)}`,
      ];
    case 'mcp.result': {
      const lines = safeBlock(JSON.stringify(m?.result ?? null, null, 2)).split('\n');
      const shown = lines.slice(0, MAX_RESULT_LINES).map((l) => `  ${l}`);
      if (lines.length > MAX_RESULT_LINES) shown.push(`  … ${lines.length - MAX_RESULT_LINES} more lines`);
      return [`${at} result${note}:`, ...shown];
    }
    default:
      return [`${at} ${safeInline(frame)}${note}`];
  }
}
