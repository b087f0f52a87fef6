import type {
  Connection,
  Decision,
  Event,
  Identity,
  Request,
  Response,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { fromBinaryEvent } from '../../shared/events/codec.js';
import {
  BODY_BATCH,
  BODY_DECISION,
  BODY_REQUEST,
  BODY_RESPONSE,
  DECISION,
  ENVELOPE,
  ENVELOPE_CONNECTION,
  ENVELOPE_IDENTITY,
  FAST_DECODE,
  IDENTITY,
  MAP_ENTRY,
  REQUEST,
  RESPONSE,
} from './fast-decode-schema.js';
import { GIVE_UP, Reader, readFields, readValue, WIRE_LEN } from './wire-reader.js';

/**
 * The recorder's decoder of the records the gateway publishes most: an event or a batch of events whose bodies are
 * requests, decisions and responses. It reads the wire format straight into message objects, without the
 * reflection and default-filling of `fromBinary` (the largest part of the recorder's decode cost), and gives the
 * objects `fromBinary(EventSchema, bytes, { readUnknownFields: true })` gives (tested, byte for byte, against it).
 * Anything else — another body, a field it does not know (a newer producer: `fromBinary` keeps it as an unknown
 * field), a repeated message field, a wire type that does not match, truncated bytes — makes it give up
 * (`undefined`), and the caller decodes the record with `fromBinary`. When the schema of one of these messages has
 * changed (a field added or retyped), it turns itself off (`FAST_DECODE` false; a unit test names the list to
 * update).
 */

function newIdentity(): Identity {
  return {
    $typeName: 'gatehouse.v1.Identity',
    sub: '',
    email: '',
    groups: [],
    agent: false,
    issuer: '',
    clientId: '',
  };
}

function newConnection(): Connection {
  return { $typeName: 'gatehouse.v1.Connection', name: '', protocol: '', tags: {} };
}

function newRequest(): Request {
  return { $typeName: 'gatehouse.v1.Request', requestId: 0, kind: '', text: '', parsedJson: '' };
}

function newDecision(): Decision {
  return {
    $typeName: 'gatehouse.v1.Decision',
    requestId: 0,
    allow: false,
    reasons: [],
    approvalRequired: false,
    approvalGroups: [],
    approvalsNeeded: 0,
    maskColumns: [],
    maskDetectors: [],
    audit: '',
    evalMicros: 0,
    policyError: false,
    decisionJson: '',
    grantApprovalId: '',
    argumentsDigest: '',
    toolChanged: false,
    memoHit: false,
    inputUnix: 0n,
    inputSessionJson: '',
    inputGrantsJson: '',
  };
}

function newResponse(): Response {
  return {
    $typeName: 'gatehouse.v1.Response',
    requestId: 0,
    frame: '',
    data: new Uint8Array(0),
    rows: 0,
    text: '',
    code: '',
  };
}

function newEvent(): Event {
  return {
    $typeName: 'gatehouse.v1.Event',
    eventId: '',
    sessionId: '',
    seq: 0n,
    nodeId: '',
    tsMicros: 0n,
    protocol: '',
    policyRevision: '',
    continued: 0,
    body: { case: undefined },
  };
}

function readConnection(r: Reader, end: number): Connection {
  const c = newConnection();
  while (r.pos < end) {
    const tag = r.uint32(end);
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        readValue(r, end, wire, 'string', 'name', c);
        break;
      case 2:
        readValue(r, end, wire, 'string', 'protocol', c);
        break;
      case 3: {
        if (wire !== WIRE_LEN) throw GIVE_UP;
        const stop = r.length(end);
        const entry = { key: '', value: '' };
        readFields(r, stop, MAP_ENTRY, entry);
        c.tags[entry.key] = entry.value;
        break;
      }
      default:
        throw GIVE_UP;
    }
  }
  return c;
}

/** One event envelope (`nested`: a frame of a batch, which may not hold a batch itself). */
function readEvent(r: Reader, end: number, nested: boolean): Event {
  const e = newEvent();
  const target = e as unknown as Record<string, unknown>;
  while (r.pos < end) {
    const tag = r.uint32(end);
    const number = tag >>> 3;
    const wire = tag & 7;
    const own = ENVELOPE.get(number);
    if (own !== undefined) {
      readValue(r, end, wire, own[1], own[0], target);
      continue;
    }
    if (wire !== WIRE_LEN) throw GIVE_UP;
    const stop = r.length(end);
    switch (number) {
      case ENVELOPE_IDENTITY: {
        if (e.identity !== undefined) throw GIVE_UP; // a repeated message field merges: left to fromBinary
        const id = newIdentity();
        readFields(r, stop, IDENTITY, id);
        e.identity = id;
        break;
      }
      case ENVELOPE_CONNECTION:
        if (e.connection !== undefined) throw GIVE_UP;
        e.connection = readConnection(r, stop);
        break;
      case BODY_REQUEST: {
        if (e.body.case !== undefined) throw GIVE_UP;
        const value = newRequest();
        readFields(r, stop, REQUEST, value);
        e.body = { case: 'request', value };
        break;
      }
      case BODY_DECISION: {
        if (e.body.case !== undefined) throw GIVE_UP;
        const value = newDecision();
        readFields(r, stop, DECISION, value);
        e.body = { case: 'decision', value };
        break;
      }
      case BODY_RESPONSE: {
        if (e.body.case !== undefined) throw GIVE_UP;
        const value = newResponse();
        readFields(r, stop, RESPONSE, value);
        e.body = { case: 'response', value };
        break;
      }
      case BODY_BATCH: {
        if (nested || e.body.case !== undefined) throw GIVE_UP;
        const events: Event[] = [];
        while (r.pos < stop) {
          const inner = r.uint32(stop);
          if (inner !== ((1 << 3) | WIRE_LEN)) throw GIVE_UP;
          const frameEnd = r.length(stop);
          events.push(readEvent(r, frameEnd, true));
        }
        e.body = { case: 'batch', value: { $typeName: 'gatehouse.v1.EventBatch', events } };
        break;
      }
      default:
        throw GIVE_UP;
    }
    r.pos = stop;
  }
  return e;
}

/**
 * The event `bytes` hold, as `fromBinary(EventSchema, bytes, { readUnknownFields: true })` gives it, or undefined
 * when this decoder does not handle the record (see above). Pure; never throws.
 */
export function fastDecodeEvent(bytes: Uint8Array): Event | undefined {
  if (!FAST_DECODE) return undefined;
  try {
    const r = new Reader(bytes);
    const event = readEvent(r, bytes.length, false);
    return r.pos === bytes.length ? event : undefined;
  } catch {
    return undefined; // GIVE_UP, or anything unexpected: fromBinary decides (and reports corrupt bytes)
  }
}

/** `fastDecodeEvent`, else `fromBinaryEvent` (which throws on corrupt bytes). */
export function decodeEventBytes(bytes: Uint8Array): Event {
  return fastDecodeEvent(bytes) ?? fromBinaryEvent(bytes);
}
