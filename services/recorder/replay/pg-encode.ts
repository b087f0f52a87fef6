/**
 * Pure builders of PostgreSQL backend messages (the inverse of pg-messages.ts), for test fixtures and tools that
 * need recorded-looking payloads. Text-format columns only.
 */

function message(code: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

export type FieldSpec = { name: string; typeOid: number };

/** Type oids used by fixtures. */
export const PG_TYPES = { int4: 23, int8: 20, text: 25, varchar: 1043, numeric: 1700, bool: 16 } as const;

export function rowDescription(fields: readonly FieldSpec[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(fields.length);
  for (const f of fields) {
    const meta = Buffer.alloc(18);
    meta.writeInt32BE(0, 0); // table oid
    meta.writeInt16BE(0, 4); // column attr
    meta.writeInt32BE(f.typeOid, 6);
    meta.writeInt16BE(-1, 10); // type size
    meta.writeInt32BE(-1, 12); // type modifier
    meta.writeInt16BE(0, 16); // text format
    parts.push(cstr(f.name), meta);
  }
  return message('T', Buffer.concat(parts));
}

export function dataRow(values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(values.length);
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1);
      parts.push(len);
    } else {
      const bytes = Buffer.from(v, 'utf8');
      len.writeInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  }
  return message('D', Buffer.concat(parts));
}

export function commandComplete(tag: string): Buffer {
  return message('C', cstr(tag));
}

export function readyForQuery(status: 'I' | 'T' | 'E' = 'I'): Buffer {
  return message('Z', Buffer.from(status, 'latin1'));
}

/** ErrorResponse ('E') or NoticeResponse ('N') with severity, SQLSTATE and message (+ optional detail/hint). */
export function noticeMessage(
  kind: 'error' | 'notice',
  n: { severity: string; code: string; message: string; detail?: string; hint?: string },
): Buffer {
  const fields: [string, string][] = [
    ['S', n.severity],
    ['V', n.severity],
    ['C', n.code],
    ['M', n.message],
  ];
  if (n.detail !== undefined) fields.push(['D', n.detail]);
  if (n.hint !== undefined) fields.push(['H', n.hint]);
  const body = Buffer.concat([
    ...fields.map(([k, v]) => Buffer.concat([Buffer.from(k, 'latin1'), cstr(v)])),
    Buffer.from([0]),
  ]);
  return message(kind === 'error' ? 'E' : 'N', body);
}
