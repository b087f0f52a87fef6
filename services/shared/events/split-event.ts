import { create, ScalarType, toBinary } from '@bufbuild/protobuf';
import type { DescField, DescMessage, Message } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import { ContinuationSchema, EventSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Continuation, Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { EventTooLargeError } from './errors.js';

/** Reserve per kept field in the head for its tag and length varints. */
const FIELD_RESERVE = 12;
/** Reserve for the head's own `continued` field. */
const CONTINUED_RESERVE = 8;
/** Smallest useful slice: below this the envelope itself is the problem (e.g. an identity of megabytes). */
const MIN_SLICE = 1024;

type Cut = { field: DescField; rest: Uint8Array };

/** The body message's descriptor, from the envelope's oneof case. */
export function bodyDescriptor(event: Pick<Event, 'body'>): DescMessage | undefined {
  const c = event.body.case;
  if (c === undefined) return undefined;
  const f = EventSchema.field[c];
  return f?.fieldKind === 'message' ? f.message : undefined;
}

function splittable(desc: DescMessage): DescField[] {
  return desc.fields.filter(
    (f) => f.fieldKind === 'scalar' && (f.scalar === ScalarType.STRING || f.scalar === ScalarType.BYTES),
  );
}

/** Byte length at or below `n` that does not end inside a UTF-8 character. */
function utf8Boundary(bytes: Uint8Array, n: number): number {
  let cut = Math.min(n, bytes.length);
  while (cut > 0 && cut < bytes.length && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

/**
 * Splits an event whose encoding exceeds `maxBytes` into a head (the event with its large string/bytes body
 * fields cut to a prefix, `continued` set) and the continuation bodies that carry the rest, each slice at most
 * `maxBytes - partOverhead` bytes (`partOverhead`: the encoded size of an empty continuation envelope of this
 * session). See `Continuation` in proto/gatehouse/v1/events.proto. Pure; the input is not modified and large
 * values are sliced, not copied. Throws `EventTooLargeError` when even the cut head cannot fit.
 */
export function splitEvent(
  event: Event,
  maxBytes: number,
  partOverhead: number,
): { head: Event; parts: Continuation[] } {
  const desc = bodyDescriptor(event);
  const value = event.body.value;
  const slice = maxBytes - partOverhead;
  if (!desc || !value || slice < MIN_SLICE) {
    throw new EventTooLargeError(`event of kind ${event.body.case ?? 'none'} cannot be split`);
  }
  const body: Message = { ...value };
  const r = reflect(desc, body, false);
  const fields = splittable(desc);
  const values = new Map<DescField, Uint8Array>();
  for (const f of fields) {
    const v = r.get(f);
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v instanceof Uint8Array ? v : undefined;
    if (bytes && bytes.length > 0) {
      values.set(f, bytes);
      r.set(f, f.scalar === ScalarType.STRING ? '' : new Uint8Array(0));
    }
  }
  const bare = { ...event, body: { case: event.body.case, value: body } } as Event;
  const base = toBinary(EventSchema, bare).length + CONTINUED_RESERVE + FIELD_RESERVE * values.size;
  let budget = maxBytes - base;
  if (budget < 0) {
    throw new EventTooLargeError(
      `event of kind ${event.body.case ?? 'none'} is ${base} bytes without its large fields (bound ${maxBytes})`,
    );
  }
  const cuts: Cut[] = [];
  for (const [f, bytes] of values) {
    let keep = Math.min(bytes.length, budget);
    if (f.scalar === ScalarType.STRING) {
      keep = utf8Boundary(bytes, keep);
      r.set(f, Buffer.from(bytes.buffer, bytes.byteOffset, keep).toString('utf8'));
    } else {
      r.set(f, bytes.subarray(0, keep));
    }
    budget -= keep;
    if (keep < bytes.length) cuts.push({ field: f, rest: bytes.subarray(keep) });
  }
  const requestField = desc.fields.find((f) => f.name === 'request_id' && f.fieldKind === 'scalar');
  const requestId = requestField ? Number(r.get(requestField)) : 0;
  const parts: Continuation[] = [];
  for (const { field, rest } of cuts) {
    for (let i = 0; i < rest.length; i += slice) {
      parts.push(
        create(ContinuationSchema, {
          headSeq: event.seq,
          field: field.number,
          fieldName: field.name,
          data: rest.subarray(i, i + slice),
          requestId,
        }),
      );
    }
  }
  parts.forEach((p, i) => {
    p.part = i + 1;
    p.parts = parts.length;
  });
  return { head: { ...bare, continued: parts.length }, parts };
}

/**
 * Reassembles an event from its head and its continuations (in order): the inverse of `splitEvent`. Pure. Throws
 * `EventTooLargeError`'s sibling `Error` when a continuation names a field the head's body does not have.
 */
export function joinEvent(head: Event, parts: readonly Continuation[]): Event {
  const desc = bodyDescriptor(head);
  const value = head.body.value;
  if (!desc || !value || parts.length === 0) return head;
  const body: Message = { ...value };
  const r = reflect(desc, body, false);
  const grouped = new Map<number, Uint8Array[]>();
  for (const p of parts) {
    const list = grouped.get(p.field) ?? [];
    list.push(p.data);
    grouped.set(p.field, list);
  }
  for (const [number, slices] of grouped) {
    const f = desc.fields.find((x) => x.number === number);
    if (!f || f.fieldKind !== 'scalar') throw new Error(`continuation names unknown field ${number}`);
    const prefix = r.get(f);
    if (f.scalar === ScalarType.STRING && typeof prefix === 'string') {
      r.set(f, prefix + Buffer.concat(slices).toString('utf8'));
    } else if (prefix instanceof Uint8Array) {
      r.set(f, Buffer.concat([prefix, ...slices]));
    }
  }
  return { ...head, continued: 0, body: { case: head.body.case, value: body } } as Event;
}
