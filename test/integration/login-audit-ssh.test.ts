import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../services/shared/events/codec.js';
import { collectEvents } from '../support/event-collector.js';
import type { Collected, EventCollector } from '../support/event-collector.js';
import { runSsh, SSH_CLIENT_OPTIONS, startSshGatewayFixture } from '../support/ssh-gateway.js';
import type { SshGatewayFixture, SshRun } from '../support/ssh-gateway.js';

const AUTH_TIMEOUT_MS = 2_000;

let fx: SshGatewayFixture;
let events: EventCollector;
let validToken: string;
const presented: string[] = [];

beforeAll(async () => {
  fx = await startSshGatewayFixture({
    listener: { authTimeoutMs: AUTH_TIMEOUT_MS },
    clockToleranceSeconds: 0,
  });
  events = collectEvents(fx.sessionsTopic);
  validToken = await fx.idp.issueToken({ user: 'erin', email: 'erin@example.com', groups: ['ops'] });
  presented.push(validToken);
});

afterAll(async () => {
  await events?.stop();
  await fx?.stop();
});

type Refused = { event: Event; raw: Buffer; body: Extract<Event['body'], { case: 'loginRefused' }>['value'] };

function fromSource(ip: string): (records: readonly Collected[]) => Refused | undefined {
  return (records) => {
    for (const { event, raw } of records) {
      if (event.body.case === 'loginRefused' && event.body.value.clientAddr.startsWith(`${ip}:`)) {
        return { event, raw, body: event.body.value };
      }
    }
    return undefined;
  };
}

/**
 * OpenSSH (through sshpass) from its own loopback source address, so each case's event is found by its address.
 * sshpass may end the client at the second prompt before it printed the gateway's reason, so a run without one is
 * repeated (a few times at most; each run is one more refusal from the same address).
 */
async function sshFrom(ip: string, user: string, token: string): Promise<SshRun> {
  presented.push(token);
  const once = () =>
    runSsh(fx.port, user, token, ['true'], {
      options: [...SSH_CLIENT_OPTIONS, '-o', `BindAddress=${ip}`],
      timeoutMs: 30_000,
    });
  let r = await once();
  for (let i = 0; i < 2 && !r.stderr.includes('gatehouse:'); i++) r = await once();
  return r;
}

function expectCommon(r: Refused, reason: string, connection: string): void {
  expect(r.body.reason).toBe(reason);
  expect(r.event.protocol).toBe('ssh');
  expect(r.event.connection?.name).toBe(connection);
  expect(r.event.seq).toBe(1n);
  expect(r.body.code).toMatch(/^GH_ERR_/);
}

/** The gatehouse lines of an ssh client's stderr. */
const reasonLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('gatehouse:'))
    .join('\n');

describe('refused SSH logins become login_refused events', () => {
  it('bad and forged tokens: refused, recorded without identity; an unknown connection gets the same answer', async () => {
    const forged = `${validToken.slice(0, -6)}AAAAAA`;
    const bad = await sshFrom('127.0.0.11', 'demo-ssh', 'not-a-token');
    const badUnknown = await sshFrom('127.0.0.12', 'no-such-connection', 'not-a-token');
    const forgedKnown = await sshFrom('127.0.0.13', 'demo-ssh', forged);
    const forgedUnknown = await sshFrom('127.0.0.14', 'no-such-connection', forged);
    expect(bad.status).not.toBe(0);
    expect(reasonLines(bad.stderr)).toContain('gatehouse: access token rejected: token is not a JWT');
    expect(reasonLines(badUnknown.stderr)).toBe(reasonLines(bad.stderr));
    expect(reasonLines(forgedKnown.stderr)).toContain('token signature is invalid');
    expect(reasonLines(forgedUnknown.stderr)).toBe(reasonLines(forgedKnown.stderr));
    expect(badUnknown.stderr).not.toContain('unknown connection');

    for (const [ip, connection] of [
      ['127.0.0.11', 'demo-ssh'],
      ['127.0.0.12', 'no-such-connection'],
      ['127.0.0.13', 'demo-ssh'],
      ['127.0.0.14', 'no-such-connection'],
    ] as const) {
      const e = await events.waitFor(fromSource(ip));
      expectCommon(e, 'bad_token', connection);
      expect(e.event.identity).toBeUndefined();
      expect(e.body.tokenVerified).toBe(false);
      expect(e.body.attributes.client_version).toMatch(/^SSH-2\.0-OpenSSH/);
    }
  });

  it('an expired but validly signed token, and a valid token for an unknown connection: identity recorded', async () => {
    const expired = await fx.idp.issueToken({ user: 'frank', ttlSeconds: 1 });
    await sleep(2_200);
    const r1 = await sshFrom('127.0.0.21', 'demo-ssh', expired);
    expect(r1.stderr).toContain('gatehouse: access token rejected: token has expired');
    const r2 = await sshFrom('127.0.0.22', 'no-such-connection', validToken);
    expect(r2.stderr).toContain('gatehouse: unknown connection "no-such-connection"');

    const e1 = await events.waitFor(fromSource('127.0.0.21'));
    expectCommon(e1, 'expired_token', 'demo-ssh');
    expect(e1.body.tokenVerified).toBe(true);
    expect(e1.event.identity?.sub).toBe('frank');
    const e2 = await events.waitFor(fromSource('127.0.0.22'));
    expectCommon(e2, 'unknown_connection', 'no-such-connection');
    expect(e2.event.identity).toMatchObject({ sub: 'erin', email: 'erin@example.com', groups: ['ops'] });
  });

  it('closes a connection that never sends its identification line at the auth timeout', async () => {
    for (const [ip, send] of [
      ['127.0.0.31', ''],
      ['127.0.0.32', 'SSH-2.0-partial'],
    ] as const) {
      const socket = connect({ port: fx.port, host: '127.0.0.1', localAddress: ip });
      await new Promise((resolve) => socket.once('connect', resolve));
      if (send !== '') socket.write(send);
      socket.on('data', () => undefined);
      const t0 = Date.now();
      await new Promise((resolve) => socket.once('close', resolve));
      const held = Date.now() - t0;
      expect(held, `case ${ip}`).toBeGreaterThan(AUTH_TIMEOUT_MS - 500);
      expect(held, `case ${ip}`).toBeLessThan(AUTH_TIMEOUT_MS + 3_000);
      const e = await events.waitFor(fromSource(ip));
      expectCommon(e, 'auth_timeout', '');
      expect(e.body.attributes.identified).toBe('false');
      expect(e.body.code).toBe('GH_ERR_SSH_AUTH_TIMEOUT');
    }
  });

  it('an identified client that never logs in is closed at the auth timeout too', async () => {
    const socket = connect({ port: fx.port, host: '127.0.0.1', localAddress: '127.0.0.33' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('SSH-2.0-OpenSSH_9.2 slowpoke\r\n');
    socket.on('data', () => undefined);
    const t0 = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - t0).toBeLessThan(AUTH_TIMEOUT_MS + 3_000);
    const e = await events.waitFor(fromSource('127.0.0.33'));
    expectCommon(e, 'auth_timeout', '');
    expect(e.body.attributes.client_version).toBe('SSH-2.0-OpenSSH_9.2 slowpoke');
  });

  it('no token text anywhere in what reached Kafka', () => {
    const refused = events.records.filter((r) => r.event.body.case === 'loginRefused');
    expect(refused.length).toBeGreaterThanOrEqual(9);
    for (const { raw } of refused) {
      const text = raw.toString('latin1');
      for (const token of presented.filter((t) => t.length > 20)) {
        for (const part of token.split('.').filter((p) => p.length >= 16)) {
          expect(text).not.toContain(part.slice(0, 16));
        }
      }
    }
  });
});
