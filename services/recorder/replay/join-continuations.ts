import { ScalarType } from '@bufbuild/protobuf';
import { EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { RecordedEvent } from './recorded-event.js';

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The body's oneof case of a recorded event's JSON (`request`, `response`, …) and its descriptor. */
function bodyOf(event: Json): { key: string; body: Json } | undefined {
  for (const f of EventSchema.oneofs[0]?.fields ?? []) {
    const body = obj(event[f.jsonName]);
    if (body) return { key: f.localName, body };
  }
  return undefined;
}

/** The columns that mirror a body field (see toEventRow): where a reassembled value must also go. */
function applyColumn(e: RecordedEvent, bodyCase: string, field: string, value: string): RecordedEvent {
  if (bodyCase === 'request' && field === 'text') return { ...e, statement: value };
  if (bodyCase === 'approvalRequested' && field === 'request_text') return { ...e, statement: value };
  if (bodyCase === 'response' && field === 'text') return { ...e, text: value };
  return e;
}

/** Applies one field's continuation slices to its head. */
function extend(head: RecordedEvent, fieldName: string, slices: readonly Buffer[]): RecordedEvent {
  const event = obj(head.event);
  const found = event ? bodyOf(event) : undefined;
  if (!event || !found) return head;
  const oneof = EventSchema.field[found.key as keyof typeof EventSchema.field];
  const desc = oneof?.fieldKind === 'message' ? oneof.message : undefined;
  const f = desc?.fields.find((x) => x.name === fieldName);
  if (!f || f.fieldKind !== 'scalar') return head;
  const rest = Buffer.concat(slices);
  if (found.key === 'response' && fieldName === 'data') {
    // The response bytes are the `payload` column (not in the event JSON).
    return {
      ...head,
      payload: Buffer.concat([Buffer.from(head.payload, 'base64'), rest]).toString('base64'),
    };
  }
  const prefix = found.body[f.jsonName];
  const body = { ...found.body };
  if (f.scalar === ScalarType.STRING) {
    const value = (typeof prefix === 'string' ? prefix : '') + rest.toString('utf8');
    body[f.jsonName] = value;
    const next = { ...head, event: { ...event, [oneof.jsonName]: body } };
    return applyColumn(next, found.key, fieldName, value);
  }
  const before = typeof prefix === 'string' ? Buffer.from(prefix, 'base64') : Buffer.alloc(0);
  body[f.jsonName] = Buffer.concat([before, rest]).toString('base64');
  return { ...head, event: { ...event, [oneof.jsonName]: body } };
}

/**
 * Reassembles events that were published as a head plus `continuation` frames (see `Continuation` in
 * proto/gatehouse/v1/events.proto): each head gets its fields' slices appended, in seq order, and the continuation
 * rows are dropped. Input in seq order, without duplicates. A continuation whose head is missing is kept as is.
 * Pure.
 */
export function joinContinuations(events: readonly RecordedEvent[]): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  const heads = new Map<number, { index: number; slices: Map<string, Buffer[]> }>();
  for (const e of events) {
    if (e.kind !== 'continuation') {
      const continued = Number(obj(e.event)?.['continued'] ?? 0);
      if (continued > 0) heads.set(e.seq, { index: out.length, slices: new Map() });
      out.push(e);
      continue;
    }
    const headSeq = Number(obj(obj(e.event)?.['continuation'])?.['headSeq'] ?? 0);
    const head = heads.get(headSeq);
    if (!head) {
      out.push(e);
      continue;
    }
    const list = head.slices.get(e.frame) ?? [];
    list.push(Buffer.from(e.payload, 'base64'));
    head.slices.set(e.frame, list);
  }
  for (const { index, slices } of heads.values()) {
    let head = out[index]!;
    for (const [name, list] of slices) head = extend(head, name, list);
    out[index] = head;
  }
  return out;
}
