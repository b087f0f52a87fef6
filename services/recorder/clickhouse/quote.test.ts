import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlQuoteError } from '../errors.js';
import {
  ident,
  inList,
  joinSql,
  quote,
  quoteBytes,
  quoteInteger,
  quoteString,
  sql,
  valuesRow,
} from './quote.js';

/**
 * A reference parser for ClickHouse quoted string literals (readQuotedString + parseComplexEscapeSequence): the
 * literal must start and end with `'`, contain no raw `'`, and `\x` takes exactly two hex digits. Returns the bytes
 * ClickHouse would store, and how many characters the literal used.
 */
function parseLiteral(text: string): { bytes: Buffer; end: number } {
  const src = Buffer.from(text, 'utf8');
  if (src[0] !== 0x27) throw new Error('literal must start with a quote');
  const out: number[] = [];
  const simple: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, '0': 0, a: 7, v: 11 };
  let i = 1;
  for (;;) {
    const b = src[i];
    if (b === undefined) throw new Error('unterminated literal');
    if (b === 0x27) return { bytes: Buffer.from(out), end: i + 1 };
    if (b === 0x5c) {
      const e = String.fromCharCode(src[i + 1]!);
      if (e === 'x') {
        const hex = src.subarray(i + 2, i + 4).toString('latin1');
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error('bad \\x escape');
        out.push(parseInt(hex, 16));
        i += 4;
      } else {
        out.push(simple[e] ?? e.charCodeAt(0));
        i += 2;
      }
      continue;
    }
    out.push(b);
    i++;
  }
}

/** What a UTF-8 encoder stores for a JS string (lone surrogates become U+FFFD). */
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

const anyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({
    unit: fc.constantFrom("'", '\\', '\0', '\n', '\t', 'x', '0', '\ud800', '\udc00', 'é', '😀', '`'),
  }),
);

describe('quoteString', () => {
  it('round-trips any string through the ClickHouse literal rules', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const literal = quoteString(s);
        const parsed = parseLiteral(literal);
        expect(parsed.end).toBe(Buffer.byteLength(literal, 'utf8'));
        expect(parsed.bytes.equals(utf8(s))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never leaves a raw quote or control character in the literal', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const inner = quoteString(s).slice(1, -1);
        // eslint-disable-next-line no-control-regex
        expect(inner.replace(/\\./g, '')).not.toMatch(/['\u0000-\u001f\u007f]/);
      }),
    );
  });

  it('escapes the classic injection attempts', () => {
    expect(quoteString("x' OR 1=1 --")).toBe("'x\\' OR 1=1 --'");
    expect(quoteString('a\\')).toBe("'a\\\\'");
    expect(quoteString("\\'")).toBe("'\\\\\\''");
    expect(quoteString('nul\0end')).toBe("'nul\\x00end'");
    expect(quoteString('tab\tnl\n')).toBe("'tab\\x09nl\\x0A'");
    expect(quoteString('é😀')).toBe("'é😀'");
    expect(quoteString('\ud800')).toBe("'\ufffd'");
  });
});

describe('quoteBytes', () => {
  it('round-trips any bytes and produces pure ASCII', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const literal = quoteBytes(bytes);
        expect(literal).toMatch(/^[\x20-\x7e]*$/);
        const parsed = parseLiteral(literal);
        expect(parsed.end).toBe(literal.length);
        expect(parsed.bytes.equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes Postgres wire bytes', () => {
    expect(quoteBytes(Buffer.from([0x43, 0, 0, 0, 0x0d, 0x27, 0x5c, 0xff]))).toBe(
      "'C\\x00\\x00\\x00\\x0D\\'\\\\\\xFF'",
    );
  });
});

describe('quote / sql', () => {
  it('quotes integers exactly and rejects non-integers', () => {
    expect(quoteInteger(0)).toBe('0');
    expect(quoteInteger(-0)).toBe('0');
    expect(quoteInteger(-42)).toBe('-42');
    expect(quoteInteger(18446744073709551615n)).toBe('18446744073709551615');
    for (const bad of [1.5, NaN, Infinity, 2 ** 53]) expect(() => quoteInteger(bad)).toThrow(SqlQuoteError);
  });

  it('quotes arrays, booleans, dates, bytes', () => {
    expect(quote(['a', "b'"])).toBe("['a','b\\'']");
    expect(quote([])).toBe('[]');
    expect(quote(true)).toBe('1');
    expect(quote(new Date(1_700_000_000_999))).toBe('toDateTime(1700000000)');
    expect(() => quote(new Date(Number.NaN))).toThrow(SqlQuoteError);
    expect(quote(new Uint8Array([1]))).toBe("'\\x01'");
  });

  it('builds statements with identifiers and nested fragments', () => {
    const where = joinSql([sql`a = ${'x'}`, sql`b IN ${[1, 2]}`], sql` AND `);
    const q = sql`SELECT * FROM ${ident('gatehouse_test')}.${ident('events')} WHERE ${where} LIMIT ${10}`;
    expect(q.text).toBe("SELECT * FROM `gatehouse_test`.`events` WHERE a = 'x' AND b IN [1,2] LIMIT 10");
  });

  it('builds IN lists', () => {
    expect(inList(['a', "b'"]).text).toBe("('a', 'b\\'')");
    expect(() => inList([])).toThrow(SqlQuoteError);
  });

  it('accepts only plain identifiers', () => {
    for (const bad of ['', '1abc', 'a-b', 'a`b', 'a b', 'a.b', 'x'.repeat(300)]) {
      expect(() => ident(bad)).toThrow(SqlQuoteError);
    }
    expect(ident('gatehouse_test_ab12').name).toBe('gatehouse_test_ab12');
  });

  it('builds VALUES rows', () => {
    expect(valuesRow(['id', 1, 2n, false, ['g'], new Uint8Array([0])]).text).toBe(
      "('id',1,2,0,['g'],'\\x00')",
    );
  });

  it('rejects values it does not know', () => {
    expect(() => quote({} as never)).toThrow(SqlQuoteError);
    expect(() => quote(undefined as never)).toThrow(SqlQuoteError);
  });
});
