import { describe, expect, it } from 'vitest';
import { dataRow, decodeDataRow, PgProtocolError } from '../../shared/pg-wire/index.js';
import type { RowField } from '../../shared/pg-wire/index.js';
import { UnknownDetectorError } from './errors.js';
import { createCopyMasker, createRowMaskerFactory } from './pg-maskers.js';

const fields: RowField[] = [
  { name: 'id', tableOid: 7, columnAttr: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 },
  { name: 'contact', tableOid: 7, columnAttr: 3, typeOid: 25, typeSize: -1, typeMod: -1, format: 0 },
];

function copyData(text: string): Buffer {
  const payload = Buffer.from(text);
  const raw = Buffer.alloc(5 + payload.length);
  raw[0] = 0x64;
  raw.writeInt32BE(payload.length + 4, 1);
  payload.copy(raw, 5);
  return raw;
}

describe('createRowMaskerFactory', () => {
  it('builds one masker per result set, using the catalog for source columns', () => {
    const factory = createRowMaskerFactory((oid, attnum) =>
      oid === 7 && attnum === 3 ? { schema: 'public', table: 'people', column: 'email' } : undefined,
    );
    expect(factory(fields, { columns: [], detectors: [] })).toBeNull();
    const byName = factory(fields, { columns: ['people.email'], detectors: [] })!;
    expect(decodeDataRow(byName(dataRow(['1', 'x'])).subarray(5)).map((v) => v?.toString())).toEqual([
      '1',
      '***',
    ]);
    const byContent = factory(fields, { columns: [], detectors: ['email'] })!;
    const clean = dataRow(['1', 'no mail']);
    expect(byContent(clean)).toBe(clean);
    expect(byContent(dataRow(['1', 'a@example.com'])).subarray(5)).toEqual(
      dataRow(['1', '***@***']).subarray(5),
    );
    expect(() => factory(fields, { columns: [], detectors: ['bogus'] })).toThrow(UnknownDetectorError);
  });
  it('reuses the masker of an identical result set, never one built while the catalog missed a column', () => {
    let version = 1;
    let known = false;
    const factory = createRowMaskerFactory(
      (oid, attnum) =>
        !known || oid !== 7
          ? undefined
          : { schema: 'public', table: 'people', column: attnum === 3 ? 'email' : 'id' },
      () => version,
    );
    const spec = { columns: ['email'], detectors: [] };
    // `contact` comes from people.email, which the catalog does not know yet: masked only once it does.
    const row = dataRow(['1', 'x']);
    const before = factory(fields, spec);
    expect(before).toBeNull();
    known = true;
    const after = factory(fields, spec)!;
    expect(decodeDataRow(after(row).subarray(5)).map((v) => v?.toString())).toEqual(['1', '***']);
    // Same spec, statement and fields (a fresh but equal array): the same masker.
    expect(
      factory(
        fields.map((f) => ({ ...f })),
        spec,
      ),
    ).toBe(after);
    // Another statement index, other fields, another spec or a newer catalog: built anew.
    expect(factory(fields, spec, 1)).not.toBe(after);
    expect(factory([fields[1]!, fields[0]!], spec)).not.toBe(after);
    expect(factory(fields, { columns: ['email'], detectors: [] })).not.toBe(after);
    version = 2;
    known = false;
    expect(factory(fields, spec)).toBeNull();
  });
});

describe('createCopyMasker', () => {
  it('masks detector matches inside COPY text and CSV rows, keeping their shape', () => {
    const m = createCopyMasker({ columns: [], detectors: ['email', 'card'] })!;
    const clean = copyData('1\tplain\n');
    expect(m(clean)).toBe(clean);
    expect(m(copyData('1\tmary@example.org\t4111111111111111\n'))).toEqual(
      copyData('1\t***@***\t****-****-****-****\n'),
    );
    expect(m(copyData('1,"mary@example.org, x",2\n'))).toEqual(copyData('1,"***@***, x",2\n'));
  });

  it('over-masks rows when columns are named (COPY carries no column names)', () => {
    const m = createCopyMasker({ columns: ['email'], detectors: [] })!;
    expect(m(copyData('1\tmary@example.org\n'))).toEqual(copyData('***\n'));
  });

  it('masks nothing when asked for nothing; refuses binary COPY and malformed messages', () => {
    expect(createCopyMasker({ columns: [], detectors: [] })).toBeNull();
    const bin = createCopyMasker({ columns: [], detectors: ['email'] }, { format: 1 })!;
    expect(() => bin(copyData('x'))).toThrow(PgProtocolError);
    const m = createCopyMasker({ columns: [], detectors: ['email'] })!;
    expect(() => m(Buffer.from([0x64, 0, 0, 0, 9, 1]))).toThrow(PgProtocolError);
  });
});
