import type { RecordedRequest } from '../../gateway/index.js';
import type { RecordedDecisionRow } from '../../recorder/main.js';

/**
 * The recorded parts of a request from the events' protobuf JSON as the recorder stores it (`event_json`): fields
 * in lowerCamelCase, 64-bit integers as strings, default values (false, "", 0, []) left out.
 */
type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : 0;
}

export type OpenedJson = {
  node: string;
  identity: RecordedRequest['identity'];
  connection: RecordedRequest['connection'];
};

/** The session part (once per session), from `session.opened`. */
export function openedFromJson(event: unknown): OpenedJson {
  const e = obj(event);
  const id = obj(e.identity);
  const conn = obj(e.connection);
  const groups = Array.isArray(id.groups) ? id.groups.filter((g): g is string => typeof g === 'string') : [];
  const tags = Object.fromEntries(Object.entries(obj(conn.tags)).map(([k, v]) => [k, str(v)]));
  return {
    node: str(e.nodeId),
    identity: {
      sub: str(id.sub),
      email: str(id.email),
      groups,
      agent: id.agent === true,
      issuer: str(id.issuer),
      clientId: str(id.clientId),
    },
    connection: { name: str(conn.name), protocol: str(conn.protocol), tags },
  };
}

/** The recorded request, from its session's part and the fields ClickHouse extracted from its events. */
export function recordedFromRow(
  sessionId: string,
  opened: OpenedJson,
  row: RecordedDecisionRow,
): RecordedRequest {
  return {
    sessionId,
    node: opened.node,
    identity: opened.identity,
    connection: opened.connection,
    parsedJson: row.parsed_json,
    inputUnix: num(row.input_unix),
    inputSessionJson: row.input_session_json,
    inputGrantsJson: row.input_grants_json,
  };
}

/** allow / deny / approval as the recorded decision says. */
export function recordedOutcome(row: RecordedDecisionRow): 'allow' | 'deny' | 'approval' {
  if (Number(row.allow) === 1) return 'allow';
  return Number(row.approval_required) === 1 ? 'approval' : 'deny';
}
