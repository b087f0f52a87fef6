import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { parsePath } from './json-paths.js';
import { createMcpMasker, MASKED_VALUE } from './result-masker.js';

const result = () => ({
  jsonrpc: '2.0',
  id: 1,
  result: {
    content: [
      {
        type: 'text',
        text: JSON.stringify({ customers: [{ email: 'a@example.org', card_number: '4111111111111111' }] }),
      },
      { type: 'text', text: 'call 555-123-4567 or mail b@example.com' },
    ],
    structuredContent: { customers: [{ email: 'a@example.org', card_number: '4111111111111111' }] },
  },
});

describe('createMcpMasker', () => {
  it('masks field paths in structured content and in JSON text blocks', () => {
    const body = result();
    const n = createMcpMasker(['customers[*].card_number'], []).mask(body);
    expect(n).toBe(2);
    expect(body.result.structuredContent.customers[0]).toEqual({
      email: 'a@example.org',
      card_number: MASKED_VALUE,
    });
    expect(JSON.parse(body.result.content[0]!.text)).toEqual({
      customers: [{ email: 'a@example.org', card_number: MASKED_VALUE }],
    });
  });

  it('runs the content detectors over every string', () => {
    const body = result();
    createMcpMasker([], ['email', 'card']).mask(body);
    const all = JSON.stringify(body);
    expect(all).not.toMatch(/example\.(org|com)|4111111111111111/);
    expect(body.id).toBe(1);
  });

  it('does nothing without fields or detectors', () => {
    const m = createMcpMasker([], []);
    expect(m.active).toBe(false);
    const body = result();
    expect(m.mask(body)).toBe(0);
    expect(body).toEqual(result());
  });

  it('reads the path syntax and refuses what it cannot read', () => {
    expect(parsePath("$.a[*].b['c d'][2].*")).toEqual([
      { kind: 'key', key: 'a' },
      { kind: 'any' },
      { kind: 'key', key: 'b' },
      { kind: 'key', key: 'c d' },
      { kind: 'index', index: 2 },
      { kind: 'any' },
    ]);
    expect(() => parsePath('a..b')).toThrow();
    expect(() => parsePath('$')).toThrow();
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});
