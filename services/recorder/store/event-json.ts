import { toJson } from '@bufbuild/protobuf';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
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
