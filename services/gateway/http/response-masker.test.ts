import { describe, expect, it } from 'vitest';
import { createHttpMasker } from './response-masker.js';
import { forwardedHeaders, HttpUpstream, relayedResponseHeaders } from './upstream.js';

describe('createHttpMasker', () => {
  it('masks JSON by field path, then the detectors over every string', () => {
    const m = createHttpMasker(['customers[*].email'], ['email']);
    const body = { customers: [{ email: 'a@example.com', note: 'mail b@example.org' }], n: 1 };
    expect(m.active).toBe(true);
    const out = m.maskJson(body) as typeof body;
    expect(out.customers[0]!.email).toBe('***');
    expect(out.customers[0]!.note).not.toContain('b@example.org');
    expect(out.n).toBe(1);
  });

  it('reads paths on a top-level array and is inactive without paths or detectors', () => {
    const m = createHttpMasker(['$[*].secret'], []);
    expect(m.maskJson([{ secret: 's', ok: 1 }])).toEqual([{ secret: '***', ok: 1 }]);
    expect(createHttpMasker([], []).active).toBe(false);
    // One shared object for the decisions that mask nothing (not one per response).
    expect(createHttpMasker([], [])).toBe(createHttpMasker([], []));
  });
});

describe('headers', () => {
  it('forwards only allowlisted request headers: never Authorization, cookies or hop-by-hop ones', () => {
    const out = forwardedHeaders(
      {
        authorization: 'Bearer client',
        cookie: 'c=1',
        connection: 'keep-alive',
        'transfer-encoding': 'chunked',
        accept: 'application/json',
        'content-type': 'application/json',
        'x-other': '1',
      },
      ['accept', 'authorization', 'cookie', 'connection'],
    );
    expect(out).toEqual({ accept: 'application/json', 'content-type': 'application/json' });
  });

  it('relays response headers except hop-by-hop ones, those named in Connection, and Set-Cookie', () => {
    const out = relayedResponseHeaders({
      connection: 'close, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'set-cookie': ['s=1'],
      'content-type': 'application/json',
      etag: '"1"',
    });
    expect(out).toEqual({ 'content-type': 'application/json', etag: '"1"' });
  });
});

describe('HttpUpstream.urlOf', () => {
  it("appends the client's target to the base URL's path", async () => {
    const opts = {
      auth: { type: 'none' as const },
      connections: 4,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
    };
    const u = new HttpUpstream({ ...opts, url: 'http://10.0.0.1:8080/api/' });
    expect(u.urlOf('/customers?x=1')).toBe('http://10.0.0.1:8080/api/customers?x=1');
    expect(new HttpUpstream({ ...opts, url: 'http://h' }).urlOf('/')).toBe('http://h/');
    await u.close();
  });
});
