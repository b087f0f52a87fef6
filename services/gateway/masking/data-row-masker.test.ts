import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataRow, DataRowView, PgProtocolError } from '../../shared/pg-wire/index.js';
import type { RowField } from '../../shared/pg-wire/index.js';
import type { ColumnCatalog } from './column-match.js';
import { createDataRowMasker } from './data-row-masker.js';
import { resolveDetectors } from './registry.js';

const OID = {
  text: 25,
  varchar: 1043,
  int4: 23,
  int8: 20,
  numeric: 1700,
  uuid: 2950,
  json: 114,
  jsonb: 3802,
  bytea: 17,
  textArray: 1009,
};

function field(name: string, typeOid: number, extra: Partial<RowField> = {}): RowField {
  return { name, tableOid: 0, columnAttr: 0, typeOid, typeSize: -1, typeMod: -1, format: 0, ...extra };
}

/** Decoded values of a DataRow message, as strings (latin1 keeps every byte) or null. */
function values(raw: Buffer): (string | null)[] {
  expect(raw.readInt32BE(1)).toBe(raw.length - 1);
  const v = new DataRowView(raw.subarray(5));
  return Array.from({ length: v.length }, (_, i) => v.value(i)?.toString('latin1') ?? null);
}

const DETECTORS = resolveDetectors(['card', 'email', 'national_id', 'secret']);

describe('createDataRowMasker: planning', () => {
  it('returns null when no row can change', () => {
    const fields = [field('id', OID.int4), field('u', OID.uuid), field('b', OID.bytea)];
    expect(createDataRowMasker(fields, {})).toBeNull();
    expect(createDataRowMasker(fields.slice(0, 2), { columns: ['email'], detectors: DETECTORS })).toBeNull();
    expect(createDataRowMasker([field('n', OID.text)], { columns: [], detectors: [] })).toBeNull();
    expect(createDataRowMasker([field('n', OID.text, { format: 1 })], { detectors: [] })).toBeNull();
    expect(createDataRowMasker([field('n', OID.int8, { format: 1 })], { detectors: DETECTORS })).toBeNull();
  });
});

describe('createDataRowMasker: columns by name', () => {
  const fields = [
    field('id', OID.int4),
    field('Email', OID.text),
    field('name', OID.varchar),
    field('score', OID.int4),
    field('doc', OID.json),
    field('meta', OID.jsonb),
    field('bin_meta', OID.jsonb, { format: 1 }),
    field('bin_name', OID.text, { format: 1 }),
    field('bin_score', OID.int8, { format: 1 }),
  ];
  const columns = ['EMAIL', 'name', 'score', 'doc', 'meta', 'bin_meta', 'bin_name', 'bin_score'];

  it('replaces values type-aware and rewrites every length', () => {
    const m = createDataRowMasker(fields, { columns })!;
    expect(m.maskedColumns).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const raw = dataRow([
      '1',
      'mary@example.org',
      'Mary Major',
      '42',
      '{"a":1}',
      '{"b":2}',
      Buffer.from('\x01{"c":3}', 'latin1'),
      'bin text',
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 7]),
    ]);
    const out = m.maskDataRow(raw);
    expect(out).not.toBe(raw);
    expect(values(out)).toEqual(['1', '***', '***', null, '"***"', '"***"', '\x01"***"', '***', null]);
    // Byte for byte what the builder produces for those values (lengths included).
    expect(
      out.equals(
        dataRow(['1', '***', '***', null, '"***"', '"***"', Buffer.from('\x01"***"', 'latin1'), '***', null]),
      ),
    ).toBe(true);
    expect(m.stats()).toMatchObject({ rows: 1, maskedRows: 1, maskedColumnValues: 8 });
  });

  it('keeps NULL as NULL and returns the very same buffer when nothing changes', () => {
    const m = createDataRowMasker(fields, { columns })!;
    const raw = dataRow(['7', null, null, null, null, null, null, null, null]);
    expect(m.maskDataRow(raw)).toBe(raw);
    expect(m.stats()).toMatchObject({ rows: 1, maskedRows: 0, maskedColumnValues: 0 });
  });

  it('follows aliases and table names through the column catalog', () => {
    const catalog: ColumnCatalog = (oid, attnum) =>
      oid === 16384 && attnum === 2 ? { schema: 'public', table: 'customers', column: 'email' } : undefined;
    const aliased = [field('id', OID.int4), field('e', OID.text, { tableOid: 16384, columnAttr: 2 })];
    const raw = dataRow(['1', 'x@example.com']);
    for (const entry of ['email', 'customers.email', 'public.customers.email', 'E', 'CUSTOMERS.EMAIL']) {
      const m = createDataRowMasker(aliased, { columns: [entry], resolveColumn: catalog })!;
      expect(values(m.maskDataRow(raw)), entry).toEqual(['1', '***']);
    }
    for (const entry of ['orders.email', 'sales.customers.email', 'mail']) {
      expect(createDataRowMasker(aliased, { columns: [entry], resolveColumn: catalog }), entry).toBeNull();
    }
  });

  it('matches qualified entries on the column name when the source is unknown (over-masking)', () => {
    const expr = [field('email', OID.text)]; // tableOid 0: an expression such as lower(email)
    const m = createDataRowMasker(expr, { columns: ['customers.email'] })!;
    expect(values(m.maskDataRow(dataRow(['x'])))).toEqual(['***']);
    const unknownTable = [field('email', OID.text, { tableOid: 99, columnAttr: 1 })];
    const m2 = createDataRowMasker(unknownTable, {
      columns: ['public.customers.email'],
      resolveColumn: () => undefined,
    })!;
    expect(values(m2.maskDataRow(dataRow(['x'])))).toEqual(['***']);
  });

  it('treats extra textual OIDs (citext) like text', () => {
    const citext = [field('email', 90001)];
    expect(values(createDataRowMasker(citext, { columns: ['email'] })!.maskDataRow(dataRow(['a'])))).toEqual([
      null,
    ]);
    const m = createDataRowMasker(citext, { columns: ['email'], textTypeOids: [90001] })!;
    expect(values(m.maskDataRow(dataRow(['a'])))).toEqual(['***']);
  });
});

describe('createDataRowMasker: content detectors', () => {
  const fields = [
    field('id', OID.int4),
    field('note', OID.text),
    field('card', OID.int8),
    field('amount', OID.numeric),
    field('uid', OID.uuid),
    field('tags', OID.textArray),
    field('bin_note', OID.text, { format: 1 }),
    field('bin_doc', OID.jsonb, { format: 1 }),
    field('bin_big', OID.int8, { format: 1 }),
  ];
  const m = createDataRowMasker(fields, { detectors: DETECTORS })!;

  it('replaces matches in place in textual values and nulls other scanned types', () => {
    const raw = dataRow([
      '1',
      'call mary@example.org re 123-45-6789',
      '4111111111111111',
      '12.50',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      '{ok,"x y@example.org",AKIAIOSFODNN7EXAMPLE}',
      'bearer: Bearer abcdefghijklmnop',
      Buffer.from('\x01{"mail":"bob@example.com"}', 'latin1'),
      Buffer.from('0000000000000000', 'hex'),
    ]);
    const out = m.maskDataRow(raw);
    expect(values(out)).toEqual([
      '1',
      'call ***@*** re ***-**-****',
      null,
      '12.50',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      '{ok,"x ***@***",REDACTED_AWS_ACCESS_KEY}',
      'bearer: Bearer REDACTED_TOKEN',
      '\x01{"mail":"***@***"}',
      '\x00'.repeat(8),
    ]);
    expect(m.stats().detections).toMatchObject({
      email: 3,
      us_ssn: 1,
      payment_card: 1,
      aws_access_key: 1,
      bearer_token: 1,
    });
  });

  it('leaves clean rows untouched: the same buffer object', () => {
    const raw = dataRow([
      '2',
      'nothing here',
      '42',
      '3.14',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      '{a,b}',
      'x',
      Buffer.from('\x01{}', 'latin1'),
      Buffer.alloc(8),
    ]);
    expect(m.maskDataRow(raw)).toBe(raw);
  });

  it('finds matches whatever earlier columns or length bytes contain', () => {
    const two = [field('blob', OID.bytea), field('pad', OID.text), field('mail', OID.text)];
    const mm = createDataRowMasker(two, { detectors: DETECTORS })!;
    // bytea holds '@' (never scanned); the 64-byte pad has the length 0x40 = '@' in its length field.
    const raw = dataRow(['@@@', 'p'.repeat(64), 'to: zed@example.net']);
    expect(raw.includes(Buffer.from([0, 0, 0, 0x40]))).toBe(true);
    expect(values(mm.maskDataRow(raw))).toEqual(['@@@', 'p'.repeat(64), 'to: ***@***']);
  });

  it('leaves binary jsonb with an unknown version byte alone', () => {
    const raw = dataRow([
      '1',
      'x',
      '1',
      '1',
      null,
      null,
      'x',
      Buffer.from('\x02{"m":"a@example.com"}', 'latin1'),
      null,
    ]);
    expect(m.maskDataRow(raw)).toBe(raw);
  });
});

describe('createDataRowMasker: malformed rows', () => {
  const m = createDataRowMasker([field('a', OID.text), field('b', OID.text)], { columns: ['a'] })!;
  const good = dataRow(['x', 'y']);

  it('rejects what is not a well-formed DataRow of this result set', () => {
    const cases: Buffer[] = [
      dataRow(['x']), // column count
      Buffer.concat([good, Buffer.from([0])]), // length field does not match
      Buffer.from([0x54, ...good.subarray(1)]), // not 'D'
      good.subarray(0, 6),
    ];
    const bad = Buffer.from(good);
    bad.writeInt32BE(100, 7); // value length past the end
    cases.push(bad);
    const neg = Buffer.from(good);
    neg.writeInt32BE(-7, 7);
    cases.push(neg);
    const trailing = Buffer.concat([good, Buffer.from([1, 2])]);
    trailing.writeInt32BE(trailing.length - 1, 1);
    cases.push(trailing);
    for (const raw of cases) expect(() => m.maskDataRow(raw)).toThrow(PgProtocolError);
  });
});

describe('createDataRowMasker: properties', () => {
  it('always returns a valid DataRow with the same columns; unmasked values are byte-identical; idempotent', () => {
    const fields = [
      field('a', OID.text),
      field('b', OID.int8),
      field('c', OID.text),
      field('secret', OID.text),
    ];
    const m = createDataRowMasker(fields, { columns: ['secret'], detectors: DETECTORS })!;
    const value = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.constantFrom(
        'a@example.com',
        '4111111111111111',
        '123-45-6789',
        'AB123456C',
        'Bearer abcdefghijk',
        'é@x.io',
      ),
      fc
        .array(fc.constantFrom('x', ' ', '@', 'a@b.co', '4111 1111 1111 1111', '-', 'é', 'eyJ', '.'), {
          maxLength: 8,
        })
        .map((a) => a.join('')),
    );
    fc.assert(
      fc.property(fc.tuple(value, value, value, value), (row) => {
        const raw = dataRow(row);
        const out = m.maskDataRow(raw);
        const got = values(out);
        expect(got).toHaveLength(4);
        expect(got[3]).toBe(row[3] === null ? null : '***');
        for (const i of [0, 2]) {
          const original = row[i] === null ? null : Buffer.from(row[i]!).toString('latin1');
          if (got[i] !== original) expect(got[i]).toMatch(/\*\*\*|REDACTED/);
        }
        expect(m.maskDataRow(out).equals(out)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('createDataRowMasker: bytea, binary values and lineage', () => {
  const email = 'someone@example.com';
  it('masks bytea named or derived like text, in both formats', () => {
    const fields = [field('b', OID.bytea), field('c', OID.bytea, { format: 1 }), field('n', OID.int4)];
    const m = createDataRowMasker(fields, { derived: [true, true, true] })!;
    const out = values(m.maskDataRow(dataRow([`\\x${Buffer.from(email).toString('hex')}`, email, '5'])));
    expect(out).toEqual(['***', '***', null]);
  });

  it('runs detectors on decoded bytea (hex and escape output) and on binary arrays', () => {
    const fields = [
      field('h', OID.bytea),
      field('e', OID.bytea),
      field('a', 1009, { format: 1 }),
      field('t', OID.text),
    ];
    const m = createDataRowMasker(fields, { detectors: DETECTORS })!;
    const hex = `\\x${Buffer.from(`x ${email}`).toString('hex')}`;
    const escaped = `\\001${email.replace('@', '\\100')}`;
    const binaryArray = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from(email)]);
    expect(values(m.maskDataRow(dataRow([hex, escaped, binaryArray, 'plain'])))).toEqual([
      null,
      null,
      null,
      'plain',
    ]);
    expect(values(m.maskDataRow(dataRow(['\\x00ff', 'abc', 'x', 'y'])))).toEqual([
      '\\x00ff',
      'abc',
      'x',
      'y',
    ]);
  });
});
