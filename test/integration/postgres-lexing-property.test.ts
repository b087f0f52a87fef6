import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql } from '../../services/gateway/sql/index.js';
import { pgClient } from '../support/clients.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';

/*
 * Property: with the settings the gateway permits (it pins standard_conforming_strings, backslash_quote,
 * client_encoding), the gateway reads any byte string as the server does. Random literal bodies full of quotes,
 * backslashes, dollar signs, comment starts, escapes and non-ASCII characters, in every literal form, followed by a
 * second statement: whenever the server runs the text, the gateway saw exactly two statements and the same value.
 */

let fx: GatewayFixture;
let humanToken: string;

beforeAll(async () => {
  fx = await startGatewayFixture();
  humanToken = await fx.idp.issueToken({
    user: 'alice',
    email: 'alice@example.com',
    groups: ['engineering'],
  });
});

afterAll(async () => {
  await fx?.stop();
});

const piece = fc.constantFrom(
  'a',
  'Z9',
  '\\',
  "'",
  "''",
  "\\'",
  '\\\\',
  '$',
  '$$',
  '$q$',
  'é',
  '😀',
  '\n',
  '\\x41',
  '\\u00e9',
  '\\0061',
  '\\+000061',
  '--',
  '/*',
  '*/',
  ';',
  '"',
  "E'",
  'U&',
  ' ',
);
const literal = fc
  .tuple(fc.constantFrom('plain', 'E', 'dollar', 'unicode'), fc.array(piece, { maxLength: 10 }))
  .map(([form, parts]) => {
    const body = parts.join('');
    switch (form) {
      case 'E':
        return `E'${body}'`;
      case 'dollar':
        return `$q$${body}$q$`;
      case 'unicode':
        return `U&'${body}'`;
      default:
        return `'${body}'`;
    }
  });

describe('the gateway lexes as the server does', () => {
  it('for random literals in every form', { timeout: 240_000 }, async () => {
    const c = await pgClient(fx.pgPort, 'demo-pg', humanToken);
    let executed = 0;
    try {
      await fc.assert(
        fc.asyncProperty(literal, async (lit) => {
          const text = `SELECT set_config('gatehouse.lit', ${lit}, false) AS v; SELECT 2 AS w`;
          const gateway = await analyzeSql(text);
          let server: unknown;
          try {
            server = await c.query(text);
          } catch {
            // Refused by the gateway (it could not parse it) or failed on the server: the implicit transaction
            // of the simple query ran nothing.
            return;
          }
          executed++;
          const results = (Array.isArray(server) ? server : [server]) as { rows: { v?: string }[] }[];
          expect(gateway.parse_error, text).toBeNull();
          expect(gateway.statements.length, text).toBe(results.length);
          expect(gateway.statements[0]?.settings[0]?.value, text).toBe(results[0]?.rows[0]?.v);
        }),
        { numRuns: 120 },
      );
    } finally {
      await c.end();
    }
    expect(executed).toBeGreaterThan(10);
  });
});
