import { create, ScalarType, toJson } from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import type { DescMessage } from '@bufbuild/protobuf';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Connection, Identity } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../shared/events/codec.js';

/** The columns `leanEventJson` leaves out of `event_json` and `fullEventJson` puts back. */
export type EnvelopeColumns = {
  session_id: string;
  node_id: string;
  ts_micros: bigint | string;
  identity_sub: string;
  identity_email: string;
  identity_groups: readonly string[];
  is_agent: boolean | number;
  connection: string;
  policy_revision: string;
};

/**
 * The `event_json` column: the decoded event in protobuf JSON without what has a column of its own — the response or
 * continuation bytes (`payload`), the session and node ids, the time, the identity's sub, email, groups and agent
 * flag, the connection name and the policy revision. Kept: the event id and seq, the identity's issuer and client
 * id, the connection's protocol and tags, `continued` and the body. A `session.opened` event (one per session) is
 * kept whole: it is the record of the session's identity that `gatehouse policy input|backtest` rebuild inputs from
 * (migration 005 copies it as is). Pure.
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
  const empty = new Uint8Array(0);
  const lean: Event = {
    ...event,
    sessionId: '',
    nodeId: '',
    policyRevision: '',
    tsMicros: event.tsMicros === tsMicrosColumn ? 0n : event.tsMicros,
    identity: event.identity && { ...event.identity, sub: '', email: '', groups: [], agent: false },
    connection: event.connection && { ...event.connection, name: '' },
    body:
      body.case === 'response'
        ? { case: 'response', value: { ...body.value, data: empty } }
        : body.case === 'continuation'
          ? { case: 'continuation', value: { ...body.value, data: empty } }
          : body,
  };
  return JSON.stringify(toJson(EventSchema, lean));
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
const EMPTY_BYTES = new Uint8Array(0);

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
 * `reflectedLeanEventJson` without reflecting over the envelope: the envelope's few fields are written here, the
 * identity and connection come from the per-object cache, and only the body goes through `toJson`. Equal, byte
 * for byte, to the reflected form (tested on every body kind).
 */
function fastLeanEventJson(event: Event, tsMicrosColumn: bigint): string {
  const body = event.body;
  const field = BODY_FIELDS.get(body.case ?? '');
  if (field === undefined) return reflectedLeanEventJson(event, tsMicrosColumn);
  // sessionId, nodeId and policyRevision have columns of their own, so the lean form never has them.
  const parts: string[] = [];
  if (event.eventId !== '') parts.push(`"eventId":${JSON.stringify(event.eventId)}`);
  if (event.seq !== 0n) parts.push(`"seq":"${event.seq}"`);
  if (event.tsMicros !== tsMicrosColumn && event.tsMicros !== 0n)
    parts.push(`"tsMicros":"${event.tsMicros}"`);
  if (event.identity !== undefined) parts.push(`"identity":${identityJson(event.identity)}`);
  if (event.connection !== undefined) parts.push(`"connection":${connectionJson(event.connection)}`);
  if (event.protocol !== '') parts.push(`"protocol":${JSON.stringify(event.protocol)}`);
  if (event.continued !== 0) parts.push(`"continued":${event.continued}`);
  const dropData = body.case === 'response' || body.case === 'continuation';
  if (field.write !== undefined) {
    parts.push(`"${field.jsonName}":${field.write(body.value as never, dropData ? 'data' : undefined)}`);
  } else {
    const value = dropData ? { ...body.value, data: EMPTY_BYTES } : body.value;
    parts.push(`"${field.jsonName}":${JSON.stringify(toJson(field.schema, value as never))}`);
  }
  return `{${parts.join(',')}}`;
}

/** A body message's JSON, `skip` (a field's local name) left out. */
type BodyWriter = (message: Record<string, unknown>, skip: string | undefined) => string;

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
 * messages, enums, optional or floating-point fields), which keeps `toJson`. Equal byte for byte (tested).
 */
export function bodyWriter(schema: DescMessage): BodyWriter | undefined {
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
    writers.push({ name: f.localName, key: `${JSON.stringify(f.jsonName)}:`, json });
  }
  return (message, skip) => {
    let out = '';
    for (const w of writers) {
      if (w.name === skip) continue;
      const v = w.json(message[w.name]);
      if (v === undefined) continue;
      out += out === '' ? w.key : `,${w.key}`;
      out += v;
    }
    return `{${out}}`;
  };
}

/** The JSON name and message type of each body case, and its writer when it has one (see `bodyWriter`). */
const BODY_FIELDS = new Map<string, { jsonName: string; schema: DescMessage; write: BodyWriter | undefined }>(
  (EventSchema.oneofs[0]?.fields ?? []).flatMap((f) =>
    f.message === undefined
      ? []
      : [[f.localName, { jsonName: f.jsonName, schema: f.message, write: bodyWriter(f.message) }]],
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
  put('eventId', undefined, true);
  put('sessionId', r.session_id, r.session_id === '');
  put('seq', undefined, true);
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
  for (const [key, value] of Object.entries(stored)) if (!(key in out)) out[key] = value;
  return out;
}
