import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allow, ClientPeer, waitUntil } from '../../../dev/pg-session-fixtures/session-harness.js';
import { MemoryPublisher } from '../../../dev/memory-publisher.js';
import { createLogger } from '../../shared/logger.js';
import type { LoginRefusal } from '../login-audit/index.js';
import { loadSqlParser } from '../sql/index.js';
import {
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  decodeBackendKeyData,
  errorResponse,
  FrontendParser,
  parameterStatus,
  readyForQuery,
  StartupCode,
} from '../../shared/pg-wire/index.js';
import type { CancelRequestMessage } from '../../shared/pg-wire/index.js';
import { PgListener } from './listener.js';

/*
 * The listener's own socket handling, against a scripted fake upstream: refusals beyond maxSessions, and
 * CancelRequest routing through the real listener: the client only ever sees the gateway's own (pid, secret); a
 * CancelRequest with that pair is sent, on a fresh connection, to the upstream backend of that session with the
 * upstream's pair; anything else reaches no backend. The upstream is a scripted fake PostgreSQL server.
 */

const UPSTREAM_PID = 4242;
const UPSTREAM_SECRET = 777;
const AUTH_TIMEOUT_MS = 500;

/** A fake PostgreSQL server: cleartext login, fixed BackendKeyData, records the CancelRequests it receives. */
function fakeUpstream(): { server: Server; cancels: CancelRequestMessage[] } {
  const cancels: CancelRequestMessage[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    // The first packet is a StartupMessage or a CancelRequest. The gateway's StartupMessage names client_encoding
    // twice (PostgreSQL accepts that; the gateway's own parser would not), so only its header is read here.
    socket.once('data', (first: Buffer) => {
      if (first.readInt32BE(4) === StartupCode.CancelRequest) {
        for (const m of new FrontendParser().feed(first)) if (m.type === 'CancelRequest') cancels.push(m);
        socket.end();
        return;
      }
      socket.write(authenticationCleartextPassword());
      const parser = new FrontendParser();
      parser.push(serialize.startup({ user: 'u' }));
      parser.read();
      socket.on('data', (chunk: Buffer) => {
        for (const m of parser.feed(chunk)) {
          if (m.type === 'PasswordMessage') {
            socket.write(
              Buffer.concat([
                authenticationOk(),
                parameterStatus('server_version', '15.0'),
                backendKeyData(UPSTREAM_PID, UPSTREAM_SECRET),
                readyForQuery('I'),
              ]),
            );
          } else if (m.type === 'Terminate') socket.end();
        }
      });
    });
  });
  return { server, cancels };
}

const upstream = fakeUpstream();
const publisher = new MemoryPublisher();
const refusals: LoginRefusal[] = [];
let listener: PgListener;
let port: number;

beforeAll(async () => {
  await loadSqlParser();
  await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
  const target = {
    connection: 'fake-pg',
    host: '127.0.0.1',
    port: (upstream.server.address() as { port: number }).port,
    database: 'app',
    user: 'gatehouse',
    connectTimeoutMs: 2_000,
  };
  listener = new PgListener({
    config: {
      host: '127.0.0.1',
      port: 0,
      allowPlaintext: true,
      maxMessageBytes: 1024 * 1024,
      maxSessions: 2,
      idleTimeoutMs: 0,
      authTimeoutMs: AUTH_TIMEOUT_MS,
      maxNamesPerSession: 100,
      maxBackendMessageBytes: 1024 * 1024,
      auditRowBatch: 100,
      auditBatchBytes: 64 * 1024,
    },
    nodeId: 'n1',
    tls: null,
    connections: new Map([['fake-pg', { name: 'fake-pg', tags: {}, target, password: () => 'pw' }]]),
    verifyToken: (token) =>
      token === 'good-token'
        ? Promise.resolve({ sub: 'alice', email: '', groups: [], agent: false, issuer: 'i', client_id: 'c' })
        : Promise.reject(new Error('bad token')),
    publisher,
    sessionsTopic: 'sessions',
    maxEventBytes: 512 * 1024,
    decider: () => () => allow(),
    maskers: () => () => null,
    copyMasker: () => null,
    log: createLogger({ service: 'test', level: 'silent' }),
    metrics: { sessionOpened: () => undefined, sessionClosed: () => undefined, loginFailed: () => undefined },
    refusals: { record: (r) => refusals.push(r) },
  });
  port = await listener.listen();
});

afterAll(async () => {
  await listener.stopAccepting();
  await listener.drain(0);
  upstream.server.close();
});

/** Logs in and returns the client with the BackendKeyData the gateway handed out. */
async function login(): Promise<{ client: ClientPeer; pid: number; secret: number }> {
  const socket = connect({ host: '127.0.0.1', port });
  const client = new ClientPeer(socket);
  client.write(serialize.startup({ user: 'gatehouse', database: 'fake-pg' }));
  await waitUntil(
    () => client.frames.length > 0,
    () => 'the password request',
  );
  client.write(serialize.password('good-token'));
  await client.untilReady();
  const key = client.frames.find((f) => f.code === 0x4b)!;
  const { processId, secretKey } = decodeBackendKeyData(key.payload);
  return { client, pid: processId, secret: secretKey };
}

/** Sends a CancelRequest on a fresh connection, as libpq does, and waits for the gateway to close it. */
async function cancel(pid: number, secret: number): Promise<Buffer> {
  const peer = new ClientPeer(connect({ host: '127.0.0.1', port }));
  peer.write(serialize.cancel(pid, secret));
  await peer.untilClosed();
  return peer.bytes();
}

describe('PgListener CancelRequest routing', () => {
  it("hands the client the gateway's own key, never the upstream's", async () => {
    const { client, pid, secret } = await login();
    expect([pid, secret]).not.toEqual([UPSTREAM_PID, UPSTREAM_SECRET]);
    expect(client.bytes().includes(backendKeyData(UPSTREAM_PID, UPSTREAM_SECRET))).toBe(false);
    expect(listener.sessions).toBe(1);
    expect(publisher.events().map((e) => e.body.case)).toEqual(['sessionOpened']);
    client.write(serialize.end());
    await client.untilClosed();
  });

  it("sends a matching CancelRequest to the session's upstream backend with the upstream's key", async () => {
    const { client, pid, secret } = await login();
    const before = upstream.cancels.length;
    expect(await cancel(pid, secret)).toEqual(Buffer.alloc(0)); // no answer: the connection just closes
    await waitUntil(
      () => upstream.cancels.length > before,
      () => 'the CancelRequest upstream',
    );
    const sent = upstream.cancels.at(-1)!;
    expect([sent.processId, sent.secretKey]).toEqual([UPSTREAM_PID, UPSTREAM_SECRET]);
    expect(sent.raw).toEqual(serialize.cancel(UPSTREAM_PID, UPSTREAM_SECRET));
    client.write(serialize.end());
    await client.untilClosed();
  });

  it('forwards nothing for a wrong secret, an unknown pid, or a session that ended', async () => {
    const { client, pid, secret } = await login();
    const before = upstream.cancels.length;
    await cancel(pid, secret ^ 1);
    await cancel(pid ^ 1, secret);
    client.write(serialize.end());
    await client.untilClosed();
    await waitUntil(
      () => listener.sessions === 0,
      () => 'the session to end',
    );
    await cancel(pid, secret);
    await sleep(200);
    expect(upstream.cancels.length).toBe(before);
    // A cancel connection is no login attempt: nothing recorded as refused.
    expect(refusals).toEqual([]);
  });
});

describe('PgListener beyond maxSessions', () => {
  it('refuses with FATAL 53300 and closes the connection even if the client keeps its end open', async () => {
    const held = [await login(), await login()];
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const extra = new ClientPeer(socket);
    let ended = false;
    socket.once('end', () => (ended = true)); // the gateway's FIN: this client does not answer it
    extra.write(serialize.startup({ user: 'gatehouse', database: 'fake-pg' }));
    await waitUntil(
      () => ended,
      () => 'the refusal',
    );
    expect(extra.bytes()).toEqual(
      errorResponse({
        severity: 'FATAL',
        code: '53300',
        message: 'too many sessions on this gatehouse node',
      }),
    );
    // The bytes the client sent before the refusal must not hold the gateway's socket open: by the auth timeout
    // it is gone, and the next byte this client sends is answered with a reset.
    await sleep(AUTH_TIMEOUT_MS + 200);
    extra.write(Buffer.from([0]));
    await sleep(100);
    extra.write(Buffer.from([0])); // after the reset: EPIPE
    await extra.untilClosed(1_000);
    expect(refusals.map((r) => [r.reason, r.code])).toEqual([
      ['too_many_sessions', 'GH_ERR_PG_TOO_MANY_SESSIONS'],
    ]);
    for (const { client } of held) client.write(serialize.end());
    await waitUntil(
      () => listener.sessions === 0,
      () => 'the sessions to end',
    );
  });
});
