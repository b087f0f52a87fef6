import { httpRequestSummary } from './http-lines.js';
import { mcpRequestSummary } from './mcp-lines.js';
import { safeInline } from './safe-text.js';

/** The protocols a timeline can be narrowed to (the `protocol` column). */
export const TIMELINE_PROTOCOLS = ['postgres', 'ssh', 'mcp', 'http'] as const;
export type TimelineProtocol = (typeof TIMELINE_PROTOCOLS)[number];

/** Most characters of `text` (the one-line request) in a timeline entry. */
export const MAX_TIMELINE_TEXT = 300;

/**
 * One request of an identity's timeline (`GET /v1/timeline`), whatever its protocol: a SQL statement, an SSH
 * command, an MCP message, an HTTP call — or a refused login (`requestKind` 'login', decision 'refused').
 */
export type TimelineEntry = {
  /** When the request reached the gateway: ISO 8601 and microseconds since the epoch. */
  at: string;
  atMicros: number;
  protocol: string;
  connection: string;
  sessionId: string;
  /** The request's number in its session (0 for a refused login). */
  requestId: number;
  /** `sql`, `ssh.exec`, `ssh.shell`, `mcp.tools/call`, `http.GET`, …, or `login`. */
  requestKind: string;
  /**
   * The request on one line, safe for a terminal (control characters escaped), at most MAX_TIMELINE_TEXT
   * characters: the SQL text, the command line, `tools/call TOOL {arguments}`, `METHOD /path`.
   */
  text: string;
  /** The recorded request text (the `statement` column), cut at the API's bound; `statementChars` is its length. */
  statement: string;
  statementChars: number;
  /** 'allow' | 'deny' | 'approval' (the policy's decision), 'refused' for a refused login, '' when undecided. */
  decision: string;
  /** How a held request ended: approved | rejected | expired | abandoned …, '' when none. */
  approval: string;
  reasons: string[];
  identity: { sub: string; email: string };
};

/** `GET /v1/timeline` */
export type TimelineResponse = {
  identity: string;
  from: string;
  to: string;
  entries: TimelineEntry[];
  /** More entries matched than `limit`: narrow the window or raise the limit. */
  truncated: boolean;
};

function oneLine(text: string): string {
  const safe = safeInline(text.replace(/\s*\n\s*/g, ' ').trim());
  return safe.length > MAX_TIMELINE_TEXT ? `${safe.slice(0, MAX_TIMELINE_TEXT - 1)}…` : safe;
}

/**
 * The one-line form of a recorded request. `complete` is false when `statement` was cut by the store (an MCP
 * message is then shown as recorded text, since its JSON cannot be read). Pure.
 */
export function timelineText(
  requestKind: string,
  statement: string,
  complete = true,
  refusedCode = '',
): string {
  if (requestKind === 'login') return oneLine(`login refused: ${refusedCode}`);
  if (requestKind === 'ssh.shell' && statement === '') return '(interactive shell)';
  if (requestKind.startsWith('mcp.') && complete) {
    return oneLine(mcpRequestSummary(statement) ?? statement);
  }
  if (requestKind.startsWith('http.')) return oneLine(httpRequestSummary(statement));
  return oneLine(statement);
}
