import { create, ScalarType, toJson } from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import type { DescMessage } from '@bufbuild/protobuf';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Connection, Identity } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../shared/events/codec.js';

/** The columns `leanEventJson` leaves out of `event_json` and `fullEventJson` puts back. */
export type EnvelopeColumns = {
  event_id: string;
  seq: bigint | string;
  session_id: string;
  node_id: string;
  ts_micros: bigint | string;
  identity_sub: string;
  identity_email: string;
  identity_groups: readonly string[];
  is_agent: boolean | number;
  connection: string;
  policy_revision: string;
} & Record<BodyColumn, unknown>;

/** The columns that hold a body field as it is (`toEventRow`), by body case: `event_json` leaves the field out. */
type BodyColumn =
  | 'request_id'
  | 'request_kind'
  | 'statement'
  | 'reasons'
  | 'frame'
  | 'rows'
  | 'code'
  | 'text'
  | 'approval_id';
const REQUEST_ID = { requestId: 'request_id' } as const;
export const BODY_COLUMNS: Readonly<Record<string, Readonly<Record<string, BodyColumn>>>> = {
  request: { ...REQUEST_ID, kind: 'request_kind', text: 'statement' },
  decision: { ...REQUEST_ID, reasons: 'reasons' },
  response: { ...REQUEST_ID, frame: 'frame', rows: 'rows', text: 'text', code: 'code' },
  sessionClosed: { reason: 'text' },
  approvalRequested: { ...REQUEST_ID, approvalId: 'approval_id', reasons: 'reasons' },
  approvalDecided: { ...REQUEST_ID, approvalId: 'approval_id', outcome: 'code', reason: 'text' },
  approvalReviewed: { approvalId: 'approval_id', verdict: 'code', reason: 'text' },
  continuation: { ...REQUEST_ID, fieldName: 'frame' },
  auditFailure: { error: 'code', message: 'text' },
  security: { ...REQUEST_ID, approvalId: 'approval_id', code: 'code', reason: 'text' },
  mcpToolChanged: { ...REQUEST_ID, changed: 'reasons' },
  loginRefused: { reason: 'code', clientAddr: 'text' },
};
/** Body fields left out without a column to restore them from: response and continuation bytes (`payload`). */
const DROPPED: Readonly<Record<string, string>> = { response: 'data', continuation: 'data' };

/** The body fields `event_json` leaves out, by body case (local names). */
function leftOut(bodyCase: string): ReadonlySet<string> {
  const names = Object.keys(BODY_COLUMNS[bodyCase] ?? {});
  const dropped = DROPPED[bodyCase];
  return new Set(dropped === undefined ? names : [...names, dropped]);
}

/**
 * The `event_json` column: the decoded event in protobuf JSON without what has a column of its own — the event id
 * and seq, the session and node ids, the time, the identity's sub, email, groups and agent flag, the connection name,
 * the policy revision, the body fields a column holds as they are (`BODY_COLUMNS`: a request's id, kind and text, a
 * response's frame, rows, text and code, …) and the response or continuation bytes (`payload`). Kept: the identity's
 * issuer and client id, the connection's protocol and tags, the protocol, `continued` and the rest of the body. A
 * `session.opened` event (one per session) is kept whole: it is the record of the session's identity that
 * `gatehouse policy input|backtest` rebuild inputs from (migration 005 copies it as is). Pure.
 */
export function leanEventJson(event: Event, tsMicrosColumn: bigint): string {
  if (FAST_ENVELOPE && event.body.case !== 'sessionOpened' && event.body.case !== undefined) {
    return fastLeanEventJson(event, tsMicrosColumn);
  }
  return reflectedLeanEventJson(event, tsMicrosColumn);
}

/** `leanEventJson` by reflection over the whole event (the definition the fast path must equal). Pure. */
export function reflectedLeanEventJson(event: Event, tsMicrosColumn: bigint): string {
  const body = event.body;
  if (body.case === 'sessionOpened') return JSON.stringify(toJson(EventSchema, event));
  const lean: Event = {
    ...event,
    eventId: '',
    sessionId: '',
    seq: 0n,
    nodeId: '',
    policyRevision: '',
    tsMicros: event.tsMicros === tsMicrosColumn ? 0n : event.tsMicros,
    identity: event.identity && { ...event.identity, sub: '', email: '', groups: [], agent: false },
    connection: event.connection && { ...event.connection, name: '' },
    body:
      body.case === undefined
        ? body
        : ({ case: body.case, value: leanBody(body.case, body.value) } as Event['body']),
  };
  return JSON.stringify(toJson(EventSchema, lean));
}

/** The defaults of the body fields `event_json` leaves out, by body case. */
const LEFT_OUT_DEFAULTS = new Map<string, Record<string, unknown>>(
  (EventSchema.oneofs[0]?.fields ?? []).flatMap((f) => {
    if (f.message === undefined) return [];
    const empty = create(f.message) as unknown as Record<string, unknown>;
    return [[f.localName, Object.fromEntries([...leftOut(f.localName)].map((name) => [name, empty[name]]))]];
  }),
);

function leanBody<T extends object>(bodyCase: string, value: T): T {
  const defaults = LEFT_OUT_DEFAULTS.get(bodyCase);
  return defaults === undefined ? value : { ...value, ...defaults };
}

/**
 * The envelope fields the fast path writes itself, in field-number order (protobuf JSON order). When the schema
 * gains an envelope field (outside the body oneof), the fast path turns itself off: `leanEventJson` then reflects
 * over the whole event as before, so no field is ever dropped (a unit test says the list needs updating).
 */
export const FAST_ENVELOPE_FIELDS = [
  'eventId',
  'sessionId',
  'seq',
  'nodeId',
  'tsMicros',
  'identity',
  'connection',
  'protocol',
  'policyRevision',
  'continued',
] as const;
const FAST_ENVELOPE =
  EventSchema.fields
    .filter((f) => f.oneof === undefined)
    .map((f) => f.localName)
    .join(',') === FAST_ENVELOPE_FIELDS.join(',');

/**
 * The lean JSON of identity and connection objects: the frames of one batch record share their envelope's objects
 * (see expandBatch), so each is serialized once per record, not once per event.
 */
const leanIdentityJson = new WeakMap<Identity, string>();
const leanConnectionJson = new WeakMap<Connection, string>();

const EMPTY_EVENT: Event = create(EventSchema);

function identityJson(identity: Identity): string {
  let json = leanIdentityJson.get(identity);
  if (json === undefined) {
    const lean = { ...identity, sub: '', email: '', groups: [], agent: false };
    json = JSON.stringify(
      (toJson(EventSchema, { ...EMPTY_EVENT, identity: lean }) as { identity: unknown }).identity,
    );
    leanIdentityJson.set(identity, json);
  }
  return json;
}

function connectionJson(connection: Connection): string {
  let json = leanConnectionJson.get(connection);
  if (json === undefined) {
    const lean = { ...connection, name: '' };
    json = JSON.stringify(
      (toJson(EventSchema, { ...EMPTY_EVENT, connection: lean }) as { connection: unknown }).connection,
    );
    leanConnectionJson.set(connection, json);
  }
  return json;
}

/**
 * The envelope's JSON between the time and the body (`,"identity":…,"connection":…,"protocol":…`), kept for the
 * last identity, connection and protocol: the frames of one batch record share their envelope's objects.
 */
let lastEnvelope: {
  identity: Identity | undefined;
  connection: Connection | undefined;
  protocol: string;
  json: string;
} = {
  identity: undefined,
  connection: undefined,
  protocol: '',
  json: '',
};
function envelopeJson(event: Event): string {
  const last = lastEnvelope;
  if (
    last.identity === event.identity &&
    last.connection === event.connection &&
    last.protocol === event.protocol
  ) {
    return last.json;
  }
  let json = '';
  if (event.identity !== undefined) json += `,"identity":${identityJson(event.identity)}`;
  if (event.connection !== undefined) json += `,"connection":${connectionJson(event.connection)}`;
  if (event.protocol !== '') json += `,"protocol":${JSON.stringify(event.protocol)}`;
  lastEnvelope = { identity: event.identity, connection: event.connection, protocol: event.protocol, json };
  return json;
}

/**
 * `reflectedLeanEventJson` without reflecting over the envelope: the envelope's few fields are written here, the
 * identity and connection come from the per-object cache, and only the body goes through `toJson` (or its writer).
 * Equal, byte for byte, to the reflected form (tested on every body kind).
 */
function fastLeanEventJson(event: Event, tsMicrosColumn: bigint): string {
  const body = event.body;
  const field = BODY_FIELDS.get(body.case ?? '');
  if (field === undefined) return reflectedLeanEventJson(event, tsMicrosColumn);
  // eventId, sessionId, seq, nodeId and policyRevision have columns of their own, so the lean form never has them.
  let json = '';
  if (event.tsMicros !== tsMicrosColumn && event.tsMicros !== 0n) json += `,"tsMicros":"${event.tsMicros}"`;
  json += envelopeJson(event);
  if (event.continued !== 0) json += `,"continued":${event.continued}`;
  const value =
    field.write !== undefined
      ? field.write(body.value as never)
      : JSON.stringify(toJson(field.schema, leanBody(field.localName, body.value as never)));
  json += `,"${field.jsonName}":${value}`;
  return `{${json.slice(1)}}`;
}

/** A body message's JSON (the writer's left-out fields left out). */
type BodyWriter = (message: Record<string, unknown>) => string;

type FieldWriter = { name: string; key: string; json: (v: unknown) => string | undefined };

/**
 * JSON literals of recent long strings: an audit stream repeats its long texts (the parsed request of a prepared
 * statement, the decision document, the session's policy input), and escaping a JSON text inside JSON costs far
 * more than finding it again.
 */
const quoted = new Map<string, string>();
const QUOTED_MIN_LENGTH = 48;
const QUOTED_KEPT = 256;
function quoteString(s: string): string {
  if (s.length < QUOTED_MIN_LENGTH) return JSON.stringify(s);
  let q = quoted.get(s);
  if (q === undefined) {
    if (quoted.size >= QUOTED_KEPT) quoted.clear();
    quoted.set(s, (q = JSON.stringify(s)));
  }
  return q;
}
const quote = (v: unknown): string | undefined => (v === '' ? undefined : quoteString(v as string));
const SCALAR_JSON: Partial<Record<ScalarType, (v: unknown) => string | undefined>> = {
  [ScalarType.STRING]: quote,
  [ScalarType.BOOL]: (v) => (v === true ? 'true' : undefined),
  [ScalarType.UINT32]: (v) => (v === 0 ? undefined : String(v)),
  [ScalarType.INT32]: (v) => (v === 0 ? undefined : String(v)),
  [ScalarType.INT64]: (v) => (v === 0n ? undefined : `"${String(v)}"`),
  [ScalarType.UINT64]: (v) => (v === 0n ? undefined : `"${String(v)}"`),
  [ScalarType.BYTES]: (v) =>
    (v as Uint8Array).length === 0 ? undefined : `"${Buffer.from(v as Uint8Array).toString('base64')}"`,
};
const stringList = (v: unknown): string | undefined => {
  const list = v as readonly string[];
  return list.length === 0 ? undefined : `[${list.map(quoteString).join(',')}]`;
};

/**
 * `JSON.stringify(toJson(schema, message))` written directly (no JSON object built, no reflection per call) for a
 * body message whose fields are all plain proto3 scalars or string lists: fields in number order, defaults left out,
 * 64-bit integers as strings, bytes as base64 — what `toJson` does. Undefined for any other message (maps, nested
 * messages, enums, optional or floating-point fields), which keeps `toJson`. Equal byte for byte (tested), the
 * fields in `skip` (local names) left out as if they had their default value.
 */
export function bodyWriter(
  schema: DescMessage,
  skip: ReadonlySet<string> = new Set(),
): BodyWriter | undefined {
  const writers: FieldWriter[] = [];
  for (const f of [...schema.fields].sort((a, b) => a.number - b.number)) {
    if (f.oneof !== undefined) return undefined;
    let json: ((v: unknown) => string | undefined) | undefined;
    if (f.fieldKind === 'scalar' && f.presence !== FeatureSet_FieldPresence.EXPLICIT && !f.longAsString) {
      json = SCALAR_JSON[f.scalar];
    } else if (f.fieldKind === 'list' && f.listKind === 'scalar' && f.scalar === ScalarType.STRING) {
      json = stringList;
    }
    if (json === undefined || f.jsonName === '__proto__') return undefined;
    if (skip.has(f.localName)) continue;
    writers.push({ name: f.localName, key: `${JSON.stringify(f.jsonName)}:`, json });
  }
  return (message) => {
    let out = '';
    for (const w of writers) {
      const v = w.json(message[w.name]);
      if (v === undefined) continue;
      out += out === '' ? w.key : `,${w.key}`;
      out += v;
    }
    return `{${out}}`;
  };
}

/** The JSON name and message type of each body case, and its writer when it has one (see `bodyWriter`). */
const BODY_FIELDS = new Map<
  string,
  { localName: string; jsonName: string; schema: DescMessage; write: BodyWriter | undefined }
>(
  (EventSchema.oneofs[0]?.fields ?? []).flatMap((f) =>
    f.message === undefined
      ? []
      : [
          [
            f.localName,
            {
              localName: f.localName,
              jsonName: f.jsonName,
              schema: f.message,
              write: bodyWriter(f.message, leftOut(f.localName)),
            },
          ],
        ],
  ),
);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The whole event JSON of a row (as `toJson` gives it, field order included) from its columns and its stored
 * `event_json`, lean or, for rows written before, whole (then the stored values win). Pure.
 */
export function fullEventJson(r: EnvelopeColumns, stored: unknown): unknown {
  if (!isObject(stored)) return stored;
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown, isDefault: boolean): void => {
    if (stored[key] !== undefined) out[key] = stored[key];
    else if (!isDefault) out[key] = value;
  };
  put('eventId', r.event_id, r.event_id === '');
  put('sessionId', r.session_id, r.session_id === '');
  const seq = String(r.seq);
  put('seq', seq, seq === '0');
  put('nodeId', r.node_id, r.node_id === '');
  put('tsMicros', String(r.ts_micros), String(r.ts_micros) === '0');
  const identity = stored['identity'];
  if (isObject(identity)) {
    const id: Record<string, unknown> = {};
    if (r.identity_sub !== '') id['sub'] = r.identity_sub;
    if (r.identity_email !== '') id['email'] = r.identity_email;
    if (r.identity_groups.length > 0) id['groups'] = [...r.identity_groups];
    if (Number(r.is_agent) === 1) id['agent'] = true;
    out['identity'] = { ...id, ...identity };
  }
  const connection = stored['connection'];
  if (isObject(connection)) {
    out['connection'] = { ...(r.connection === '' ? {} : { name: r.connection }), ...connection };
  }
  put('protocol', undefined, true);
  put('policyRevision', r.policy_revision, r.policy_revision === '');
  for (const [key, value] of Object.entries(stored)) {
    if (key in out) continue;
    const body = BODY_BY_JSON_NAME.get(key);
    out[key] = body === undefined ? value : fullBody(body, value, r);
  }
  return out;
}

const BODY_BY_JSON_NAME = new Map([...BODY_FIELDS.values()].map((b) => [b.jsonName, b]));

/**
 * A body's JSON with the fields `event_json` left out put back from their columns, in `toJson`'s order (field
 * number); a stored field (a row written whole, before) wins. A column holds its field as it is, so a field at its
 * default value has its column at the default too, and stays out.
 */
function fullBody(
  body: { localName: string; schema: DescMessage },
  stored: unknown,
  r: EnvelopeColumns,
): unknown {
  const columns = BODY_COLUMNS[body.localName];
  if (columns === undefined || !isObject(stored)) return stored;
  const out: Record<string, unknown> = {};
  for (const f of [...body.schema.fields].sort((a, b) => a.number - b.number)) {
    if (stored[f.jsonName] !== undefined) {
      out[f.jsonName] = stored[f.jsonName];
      continue;
    }
    const column = columns[f.localName];
    if (column === undefined) continue;
    const v = r[column];
    if (f.fieldKind === 'list') {
      const list = v as readonly string[];
      if (list.length > 0) out[f.jsonName] = [...list];
    } else if (f.fieldKind === 'scalar' && f.scalar === ScalarType.STRING) {
      if (v !== '') out[f.jsonName] = String(v);
    } else if (Number(v) !== 0) {
      out[f.jsonName] = Number(v);
    }
  }
  for (const [key, value] of Object.entries(stored)) if (!(key in out)) out[key] = value;
  return out;
}
