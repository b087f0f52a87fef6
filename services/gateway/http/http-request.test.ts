import { describe, expect, it } from 'vitest';
import { bodyText, httpRequestOf, requestText, reviewTextOf } from './http-request.js';

const headers = {
  'content-type': 'application/json; charset=utf-8',
  authorization: 'Bearer secret',
  accept: '*/*',
};

describe('httpRequestOf', () => {
  it('gives policy the method, decoded path, segments, repeated query values, allowlisted headers and JSON', () => {
    const r = httpRequestOf(
      { method: 'post', target: '/customers/a%20b?x=1&x=2&y=', headers, body: Buffer.from('{"id":3}') },
      ['content-type', 'accept'],
    );
    expect(r.http).toEqual({
      method: 'POST',
      path: '/customers/a b',
      segments: ['customers', 'a b'],
      query: { x: ['1', '2'], y: [''] },
      headers: { 'content-type': 'application/json; charset=utf-8', accept: '*/*' },
      content_type: 'application/json',
      json: { id: 3 },
      body_bytes: 8,
    });
    expect(JSON.stringify(r)).not.toContain('secret');
  });

  it('binds the fingerprint to method, target and the exact body', () => {
    const base = { method: 'DELETE', target: '/customers/3', headers: {}, body: Buffer.alloc(0) };
    const f = httpRequestOf(base, []).fingerprint;
    expect(httpRequestOf({ ...base }, []).fingerprint).toBe(f);
    expect(httpRequestOf({ ...base, target: '/customers/4' }, []).fingerprint).not.toBe(f);
    expect(httpRequestOf({ ...base, body: Buffer.from('x') }, []).fingerprint).not.toBe(f);
    expect(httpRequestOf({ ...base, method: 'GET' }, []).fingerprint).not.toBe(f);
  });

  it('gives null JSON for a body that does not parse, and for non-JSON types', () => {
    const bad = httpRequestOf({ method: 'POST', target: '/', headers, body: Buffer.from('{') }, []);
    expect(bad.http.json).toBeNull();
    const text = httpRequestOf(
      { method: 'POST', target: '/', headers: { 'content-type': 'text/plain' }, body: Buffer.from('{}') },
      [],
    );
    expect(text.http).toMatchObject({ json: null, content_type: 'text/plain' });
  });
});

describe('request and review text', () => {
  it('records text bodies as text and binary bodies as size and digest', () => {
    expect(bodyText(Buffer.from('héllo\n'))).toBe('héllo\n');
    expect(bodyText(Buffer.from([0, 1, 2]))).toMatch(/^<3 bytes binary, sha256 [0-9a-f]{64}>$/);
    expect(requestText({ method: 'get', target: '/a?b=1', headers: {}, body: Buffer.alloc(0) })).toBe(
      'GET /a?b=1',
    );
  });

  it('binds the review text to the whole body through its digest, and shows only its start', () => {
    const body = Buffer.from('a'.repeat(10_000));
    const t = reviewTextOf('demo', { method: 'PUT', target: '/x', headers: {}, body });
    expect(t.split('\n')[0]).toBe('demo: PUT /x');
    expect(t).toMatch(/body sha256 [0-9a-f]{64} \(10000 bytes\)/);
    expect(t.length).toBeLessThan(4300);
  });
});
