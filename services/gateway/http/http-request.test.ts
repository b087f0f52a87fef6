import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { frozenJson } from '../pipeline/frozen-json.js';
import { bodyText, HttpRequestCache, httpRequestOf, requestText, reviewTextOf } from './http-request.js';
import type { RequestBody } from './request-body.js';

const buffered = (bytes: Buffer): RequestBody => ({ kind: 'buffered', bytes });
const streamed = (declaredBytes: number | null): RequestBody => ({
  kind: 'streamed',
  head: Buffer.alloc(0),
  rest: new PassThrough(),
  declaredBytes,
});

const headers = {
  'content-type': 'application/json; charset=utf-8',
  authorization: 'Bearer secret',
  accept: '*/*',
};

describe('httpRequestOf', () => {
  it('gives policy the method, decoded path, segments, repeated query values, allowlisted headers and JSON', () => {
    const r = httpRequestOf(
      {
        method: 'post',
        target: '/customers/a%20b?x=1&x=2&y=',
        headers,
        body: buffered(Buffer.from('{"id":3}')),
      },
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
      body_inspected: true,
    });
    expect(JSON.stringify(r)).not.toContain('secret');
  });

  it('binds the fingerprint to method, target and the exact body', () => {
    const base = { method: 'DELETE', target: '/customers/3', headers: {}, body: buffered(Buffer.alloc(0)) };
    const f = httpRequestOf(base, []).fingerprint;
    expect(httpRequestOf({ ...base }, []).fingerprint).toBe(f);
    expect(httpRequestOf({ ...base, target: '/customers/4' }, []).fingerprint).not.toBe(f);
    expect(httpRequestOf({ ...base, body: buffered(Buffer.from('x')) }, []).fingerprint).not.toBe(f);
    expect(httpRequestOf({ ...base, method: 'GET' }, []).fingerprint).not.toBe(f);
  });

  it('gives null JSON for a body that does not parse, and for non-JSON types', () => {
    const bad = httpRequestOf({ method: 'POST', target: '/', headers, body: buffered(Buffer.from('{')) }, []);
    expect(bad.http.json).toBeNull();
    const text = httpRequestOf(
      {
        method: 'POST',
        target: '/',
        headers: { 'content-type': 'text/plain' },
        body: buffered(Buffer.from('{}')),
      },
      [],
    );
    expect(text.http).toMatchObject({ json: null, content_type: 'text/plain' });
  });

  it('says a streamed body was not inspected: no JSON, its declared length, a fingerprint without a digest', () => {
    const base = { method: 'POST', target: '/upload', headers };
    const big = httpRequestOf({ ...base, body: streamed(5_000_000) }, []);
    expect(big.http).toMatchObject({
      json: null,
      content_type: 'application/json',
      body_bytes: 5_000_000,
      body_inspected: false,
    });
    expect(httpRequestOf({ ...base, body: streamed(null) }, []).http.body_bytes).toBeNull();
    expect(big.fingerprint).not.toBe(httpRequestOf({ ...base, body: streamed(null) }, []).fingerprint);
    expect(requestText({ ...base, body: streamed(null) })).toBe(
      'POST /upload\n\n<body not inspected: streamed, chunked, length unknown>',
    );
    expect(reviewTextOf('demo', { ...base, body: streamed(5_000_000) })).toBe(
      "demo: POST /upload\n<body not inspected: streamed, 5000000 bytes declared>: this approval does not bind the body's bytes",
    );
  });
});

describe('request and review text', () => {
  it('records text bodies as text and binary bodies as size and digest', () => {
    expect(bodyText(buffered(Buffer.from('héllo\n')))).toBe('héllo\n');
    expect(bodyText(buffered(Buffer.from([0, 1, 2])))).toMatch(/^<3 bytes binary, sha256 [0-9a-f]{64}>$/);
    expect(
      requestText({ method: 'get', target: '/a?b=1', headers: {}, body: buffered(Buffer.alloc(0)) }),
    ).toBe('GET /a?b=1');
  });

  it('binds the review text to the whole body through its digest, and shows only its start', () => {
    const body = buffered(Buffer.from('a'.repeat(10_000)));
    const t = reviewTextOf('demo', { method: 'PUT', target: '/x', headers: {}, body });
    expect(t.split('\n')[0]).toBe('demo: PUT /x');
    expect(t).toMatch(/body sha256 [0-9a-f]{64} \(10000 bytes\)/);
    expect(t.length).toBeLessThan(4300);
  });
});

describe('HttpRequestCache', () => {
  const get = (target: string, h: Record<string, string> = { accept: '*/*' }, body = Buffer.alloc(0)) => ({
    method: 'GET',
    target,
    headers: h,
    body: buffered(body),
  });

  it('gives a repeated bodiless request the same frozen object, equal to httpRequestOf', () => {
    const cache = new HttpRequestCache(10);
    const a = cache.requestOf(get('/customers?limit=2'), ['accept']);
    expect(cache.requestOf(get('/customers?limit=2'), ['accept'])).toBe(a);
    expect(a).toEqual(httpRequestOf(get('/customers?limit=2'), ['accept']));
    expect(Object.isFrozen(a.http.query)).toBe(true);
    expect(frozenJson(a)).toBe(JSON.stringify(a));
  });

  it('tells apart every input it reads: method, target, policy header values; never caches a body', () => {
    const cache = new HttpRequestCache(10);
    const a = cache.requestOf(get('/customers?limit=2'), ['accept']);
    expect(cache.requestOf(get('/customers?limit=3'), ['accept'])).not.toBe(a);
    expect(
      cache.requestOf(get('/customers?limit=2', { accept: 'text/plain' }), ['accept']).http.headers,
    ).toEqual({
      accept: 'text/plain',
    });
    expect(cache.requestOf(get('/customers?limit=2', {}), ['accept']).http.headers).toEqual({});
    expect(cache.requestOf({ ...get('/customers?limit=2'), method: 'HEAD' }, ['accept']).http.method).toBe(
      'HEAD',
    );
    const withBody = get('/customers', { 'content-type': 'application/json' }, Buffer.from('{"a":1}'));
    const b = cache.requestOf(withBody, ['accept']);
    expect(cache.requestOf(withBody, ['accept'])).not.toBe(b);
    expect(b.http.json).toEqual({ a: 1 });
    expect(cache.size).toBe(5);
  });

  it('is bounded (oldest out first), and off at 0', () => {
    const cache = new HttpRequestCache(2);
    const first = cache.requestOf(get('/1'), []);
    cache.requestOf(get('/2'), []);
    cache.requestOf(get('/3'), []);
    expect(cache.size).toBe(2);
    expect(cache.requestOf(get('/1'), [])).not.toBe(first);
    const off = new HttpRequestCache(0);
    expect(off.requestOf(get('/1'), [])).not.toBe(off.requestOf(get('/1'), []));
    expect(off.size).toBe(0);
  });
});
