import { create, toJson } from '@bufbuild/protobuf';
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

/** The JSON name and message type of each body case. */
const BODY_FIELDS = new Map<string, { jsonName: string; schema: DescMessage }>(
  (EventSchema.oneofs[0]?.fields ?? []).flatMap((f) =>
    f.message === undefined ? [] : [[f.localName, { jsonName: f.jsonName, schema: f.message }]],
  ),
);

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
  const value =
    body.case === 'response' || body.case === 'continuation'
      ? { ...body.value, data: EMPTY_BYTES }
      : body.value;
  parts.push(`"${field.jsonName}":${JSON.stringify(toJson(field.schema, value as never))}`);
  return `{${parts.join(',')}}`;
}

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
