import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { bodies, responses } from '../support/gateway-callers.js';
import { curl, httpGatewaySuite } from '../support/http-gateway.js';

// Request bodies up to 1 MiB are buffered for policy, larger ones stream; masked responses are buffered up to 1 MiB.
const BOUND = 1024 * 1024;
const suite = httpGatewaySuite({ maxRequestBodyBytes: BOUND, maxMaskedResponseBytes: BOUND });
const { token, recorded } = suite;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const seenSince = (n: number) => suite.fx.upstream.seen.slice(n);

/** Peak growth of this process's RSS (gateway and upstream run here) while `work` runs, sampled every 20 ms. */
async function rssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

describe('HTTP proxy: request bodies', () => {
  it('a chunked upload within the bound (curl) is buffered for policy and reaches the upstream byte for byte (with its length)', async () => {
    const t = await token('person-f');
    const data = randomBytes(300 * 1024);
    const r = await curl(
      [
        ...['-X', 'POST', '-H', `Authorization: Bearer ${t}`, '-H', 'Content-Type: application/octet-stream'],
        ...['-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${suite.fx.base()}/upload`],
      ],
      data,
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ bytes: data.length, sha256: sha256(data), chunked: false });
    const evs = await recorded('person-f', (e) => responses(e, 'http.body').length > 0);
    const req = bodies(evs, 'request')[0]!;
    expect(req.text).toBe(`POST /upload\n\n<307200 bytes binary, sha256 ${sha256(data)}>`);
    expect(JSON.parse(req.parsedJson)).toMatchObject({ http: { body_bytes: 307200, body_inspected: true } });
  });

  it('a 5 MiB upload with Content-Length (undici) streams through uninspected; policy is told so', async () => {
    const t = await token('person-o');
    const data = randomBytes(5 * 1024 * 1024);
    const { result: r, growth } = await rssGrowth(async () => {
      const res = await request(`${suite.fx.base()}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: data,
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ bytes: data.length, sha256: sha256(data), chunked: false });
    expect(growth).toBeLessThan(48 * 1024 * 1024);
    const evs = await recorded('person-o', (e) => responses(e, 'http.body').length > 0);
    const req = bodies(evs, 'request')[0]!;
    expect(req.text).toBe(`POST /upload\n\n<body not inspected: streamed, ${data.length} bytes declared>`);
    expect(JSON.parse(req.parsedJson)).toMatchObject({
      http: { json: null, content_type: 'application/json', body_bytes: data.length, body_inspected: false },
    });
    expect(bodies(evs, 'decision')[0]!.allow).toBe(true);
  });

  it('a 3 MiB chunked upload (curl) runs past the bound and streams on, first bytes included', async () => {
    const t = await token('person-p');
    const data = randomBytes(3 * 1024 * 1024);
    const r = await curl(
      [
        ...['-X', 'POST', '-H', `Authorization: Bearer ${t}`, '-H', 'Content-Type: application/octet-stream'],
        ...['-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${suite.fx.base()}/upload`],
      ],
      data,
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ bytes: data.length, sha256: sha256(data), chunked: true });
    const evs = await recorded('person-p', (e) => bodies(e, 'request').length > 0);
    const req = bodies(evs, 'request')[0]!;
    expect(req.text).toBe('POST /upload\n\n<body not inspected: streamed, chunked, length unknown>');
    expect(JSON.parse(req.parsedJson)).toMatchObject({ http: { body_bytes: null, body_inspected: false } });
  });

  it("an agent's large upload is denied before a byte of it is forwarded; the connection closes", async () => {
    const t = await token('agent-q', { agent: true });
    const before = suite.fx.upstream.seen.length;
    const r = await curl(
      [
        ...['-X', 'PUT', '-H', `Authorization: Bearer ${t}`, '-H', 'Content-Type: application/octet-stream'],
        ...['--data-binary', '@-', `${suite.fx.base()}/upload`],
      ],
      randomBytes(4 * 1024 * 1024),
    );
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'denied' });
    expect(r.headers).toContain('connection: close');
    expect(seenSince(before)).toEqual([]);
    const evs = await recorded('agent-q', (e) => responses(e, 'http.error').length > 0);
    expect(bodies(evs, 'decision')[0]!.allow).toBe(false);
    expect(responses(evs, 'http.error')[0]!.code).toBe('403');
  });
});

describe('HTTP proxy: large and slow responses', () => {
  it('a 50 MiB download streams through with bounded memory, to undici and to curl', async () => {
    const t = await token('agent-h', { agent: true });
    const size = 50 * 1024 * 1024;
    const { result: n, growth } = await rssGrowth(async () => {
      const res = await request(`${suite.fx.base()}/large?bytes=${size}`, {
        headers: { authorization: `Bearer ${t}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(size));
      let got = 0;
      for await (const chunk of res.body) got += (chunk as Buffer).length;
      return got;
    });
    expect(n).toBe(size);
    // Gateway, upstream and client share this process: a buffered body would add 50 MiB at least.
    expect(growth).toBeLessThan(40 * 1024 * 1024);
    const viaCurl = await rssGrowth(() =>
      curl(['-o', '/dev/null', '-H', `Authorization: Bearer ${t}`, `${suite.fx.base()}/large?bytes=${size}`]),
    );
    expect(viaCurl.result.status).toBe(200);
    expect(viaCurl.growth).toBeLessThan(40 * 1024 * 1024);
    const evs = await recorded('agent-h', (e) => responses(e, 'http.body').length >= 2);
    for (const b of responses(evs, 'http.body')) {
      expect(b.text).toBe(`${size} bytes, first 65536 recorded`);
      expect(b.data.length).toBe(65536);
    }
  }, 120_000);

  it('JSON over maxMaskedResponseBytes that must be masked is 502 response_unmaskable; unmasked it streams', async () => {
    const agent = await token('agent-r', { agent: true });
    const size = 2 * BOUND;
    const r = await curl([
      '-H',
      `Authorization: Bearer ${agent}`,
      `${suite.fx.base()}/large?bytes=${size}&type=json`,
    ]);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'response_unmaskable' });
    const evs = await recorded('agent-r', (e) => responses(e, 'http.error').length > 0);
    expect(responses(evs, 'http.error')[0]).toMatchObject({ code: '502' });
    expect(JSON.parse(responses(evs, 'http.error')[0]!.text)).toMatchObject({ error: 'response_unmaskable' });
    expect(responses(evs, 'http.head')).toEqual([]);
    // A PII reader (a person: no masks) gets the same body whole.
    const reader = await token('reader-s', { groups: ['pii-readers'] });
    const whole = await curl([
      '-H',
      `Authorization: Bearer ${reader}`,
      `${suite.fx.base()}/large?bytes=${size}&type=json`,
    ]);
    expect(whole.status).toBe(200);
    expect(whole.body.length).toBe(size);
    expect((JSON.parse(whole.body) as { pad: string }).pad).toHaveLength(size - 10);
  }, 60_000);

  it('a slow reader of a 16 MiB download gets every byte (backpressure, no timeout)', async () => {
    const t = await token('agent-i', { agent: true });
    const size = 16 * 1024 * 1024;
    const r = await request(`${suite.fx.base()}/large?bytes=${size}`, {
      headers: { authorization: `Bearer ${t}` },
      highWaterMark: 16 * 1024,
    });
    let n = 0;
    let chunks = 0;
    for await (const chunk of r.body) {
      n += (chunk as Buffer).length;
      if (++chunks % 64 === 0) await sleep(50);
    }
    expect(n).toBe(size);
  }, 120_000);

  it('a client that stops reading holds no more than the stream buffers, and other sessions go on', async () => {
    const t = await token('agent-t', { agent: true });
    const size = 200 * 1024 * 1024;
    const socket = connect(Number(new URL(suite.fx.base()).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (received > 256 * 1024) socket.pause(); // a client that stops reading
    });
    const { growth, result: others } = await rssGrowth(async () => {
      socket.write(
        `GET /demo-http/large?bytes=${size} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${t}\r\n\r\n`,
      );
      await sleep(1_000);
      // Meanwhile another caller's requests are answered at once.
      const other = await token('agent-u', { agent: true });
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const r = await curl(['-H', `Authorization: Bearer ${other}`, `${suite.fx.base()}/customers`]);
        expect(r.status).toBe(200);
        times.push(Date.now() - started);
      }
      await sleep(2_000);
      return times;
    });
    expect(Math.max(...others)).toBeLessThan(2_000);
    expect(received).toBeLessThan(size / 4);
    expect(growth).toBeLessThan(40 * 1024 * 1024);
    socket.destroy();
    // The gateway notices the client left: the body event counts what was sent, and the session closes.
    const evs = await recorded('agent-t', (e) => bodies(e, 'sessionClosed').length > 0);
    const b = responses(evs, 'http.body')[0]!;
    const sent = Number(/^(\d+) bytes/.exec(b.text)?.[1]);
    expect(sent).toBeLessThan(size);
    expect(b.data.length).toBe(65536);
  }, 60_000);
});
