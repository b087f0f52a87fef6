import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SessionEvents } from '../../shared/events/session-events.js';
import type { EventPublisher, LogRecord } from '../../shared/log/publisher.js';
import { createLogger } from '../../shared/logger.js';
import { SessionAudit } from '../session-audit.js';
import { analyzeSqlSync, loadSqlParser } from '../sql/index.js';
import type { SqlAnalysis } from '../sql/index.js';
import {
  commandComplete,
  errorResponse,
  FrontendParser,
  parameterStatus,
  readyForQuery,
} from '../../shared/pg-wire/index.js';
import { PgSession } from './session.js';
import type { SqlDecider } from './verdict.js';

/*
 * The session's name tracking below any client: a socket pair to the session's client side, a fake upstream
 * server speaking bytes, and a decider that records the (resolved) analysis it was asked to decide.
 */

beforeAll(async () => {
  await loadSqlParser();
});

const publisher: EventPublisher = {
  publishBatched: (_r: LogRecord) => undefined,
  publishDurable: (_r: LogRecord) => Promise.resolve(),
  assertAccepting: () => undefined,
  stats: () => ({
    bufferedEvents: 0,
    bufferedBytes: 0,
    sentEvents: 0,
    sentBatches: 0,
    failedSends: 0,
    refusedRecords: 0,
    unavailableForMs: 0,
    lastBatchLatencyMs: 0,
  }),
  close: () => Promise.resolve({ unflushed: 0 }),
};

/** Two connected sockets. */
async function pair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const a = connect({ host: '127.0.0.1', port });
  const b = await accepted;
  server.close();
  return [a, b];
}

/** Collects what a socket receives. */
function sink(s: Socket): { bytes: () => Buffer; until: (pred: (b: Buffer) => boolean) => Promise<Buffer> } {
  let buf = Buffer.alloc(0);
  s.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
  return {
    bytes: () => buf,
    async until(pred) {
      const deadline = Date.now() + 5_000;
      while (!pred(buf)) {
        if (Date.now() > deadline)
          throw new Error(`timed out; got ${JSON.stringify(buf.toString('latin1'))}`);
        await sleep(10);
      }
      return buf;
    },
  };
}

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

async function start(maxNames = 10) {
  const [client, gwClient] = await pair();
  const [gwUpstream, server] = await pair();
  sockets.push(client, gwClient, gwUpstream, server);
  const parser = new FrontendParser();
  parser.push(serialize.startup({ user: 'u', database: 'd' }));
  parser.read();
  const identity = { sub: 'alice', email: '', groups: [], agent: false, issuer: 'i', client_id: 'c' };
  const connection = { name: 'demo-pg', tags: {} };
  const audit = new SessionAudit(
    new SessionEvents({ nodeId: 'n1', protocol: 'postgres', connection, identity }),
    publisher,
    'sessions',
    512 * 1024,
  );
  const decided: SqlAnalysis[] = [];
  const decide: SqlDecider = (sql, _id, _kind, options) => {
    const a0 = options?.analysis ?? analyzeSqlSync(sql);
    const a = options?.resolve ? options.resolve(a0) : a0;
    decided.push(a);
    const bad = a.statements.some((s) => s.type === 'delete' && !s.has_where);
    return {
      allow: !bad,
      reasons: bad ? ['DELETE without WHERE'] : [],
      sqlstate: '42501',
      mask: null,
      batched: true,
      revision: 'r1',
    };
  };
  const session = new PgSession({
    client: gwClient,
    upstream: gwUpstream,
    parser,
    audit,
    decide,
    maskers: () => null,
    copyMasker: () => null,
    log: createLogger({ service: 'test', level: 'silent' }),
    limits: {
      rowsPerEvent: 100,
      bytesPerEvent: 65536,
      idleTimeoutMs: 0,
      maxBackendMessageBytes: 1 << 20,
      maxNames,
    },
    onClose: () => undefined,
  });
  session.start();
  return {
    client: sink(client),
    clientSocket: client,
    server: sink(server),
    serverSocket: server,
    decided,
    session,
  };
}

describe('PgSession names (byte level)', () => {
  it('EXECUTE of a prepared DELETE is decided as that DELETE once the server confirmed the PREPARE', async () => {
    const t = await start();
    t.clientSocket.write(serialize.query('PREPARE p AS DELETE FROM t'));
    await t.server.until((b) => b.includes('PREPARE p AS DELETE'));
    t.serverSocket.write(Buffer.concat([commandComplete('PREPARE'), readyForQuery('I')]));
    await t.client.until((b) => b.includes('PREPARE'));
    expect(t.session.names.statementFor('p')?.analysis?.type).toBe('delete');

    t.clientSocket.write(serialize.query('EXECUTE p'));
    const probe = await t.server.until((b) => b.includes('gatehouse_denied_'));
    const token = /gatehouse_denied_[0-9a-f]+/.exec(probe.toString('latin1'))![0];
    t.serverSocket.write(
      Buffer.concat([
        errorResponse({ severity: 'ERROR', code: '42703', message: `column "${token}" does not exist` }),
        readyForQuery('I'),
      ]),
    );
    const got = await t.client.until((b) => b.includes('DELETE without WHERE'));
    expect(got.toString('latin1')).toContain('42501');
    expect(t.server.bytes().toString('latin1')).not.toContain('EXECUTE p');
    expect(t.decided.at(-1)?.statements[0]).toMatchObject({
      type: 'delete',
      name_ref: { op: 'execute', known: true },
    });
  });

  it('a PREPARE the server failed is not recorded', async () => {
    const t = await start();
    t.clientSocket.write(serialize.query('PREPARE q AS SELECT 1'));
    await t.server.until((b) => b.includes('PREPARE q'));
    t.serverSocket.write(
      Buffer.concat([
        errorResponse({ severity: 'ERROR', code: '25P02', message: 'aborted' }),
        readyForQuery('E'),
      ]),
    );
    await t.client.until((b) => b.includes('aborted'));
    expect(t.session.names.statementCandidates('q')).toEqual([]);
  });

  it('beyond maxNames a new name is refused with 54000 and never forwarded', async () => {
    const t = await start(1);
    t.clientSocket.write(serialize.query('PREPARE a AS SELECT 1'));
    await t.server.until((b) => b.includes('PREPARE a'));
    t.serverSocket.write(Buffer.concat([commandComplete('PREPARE'), readyForQuery('I')]));
    await t.client.until((b) => b.includes('PREPARE'));
    t.clientSocket.write(serialize.query('PREPARE b AS SELECT 2'));
    const probe = await t.server.until((b) => b.includes('gatehouse_denied_'));
    const token = /gatehouse_denied_[0-9a-f]+/.exec(probe.toString('latin1'))![0];
    t.serverSocket.write(
      Buffer.concat([
        errorResponse({ severity: 'ERROR', code: '42703', message: `column "${token}" does not exist` }),
        readyForQuery('I'),
      ]),
    );
    const got = await t.client.until((b) => b.includes('too many prepared statements'));
    expect(got.toString('latin1')).toContain('54000');
    expect(t.server.bytes().toString('latin1')).not.toContain('PREPARE b');
  });

  it('a ParameterStatus that unpins standard_conforming_strings ends the session with FATAL 42501', async () => {
    const t = await start();
    t.serverSocket.write(parameterStatus('standard_conforming_strings', 'off'));
    const got = await t.client.until((b) => b.includes('standard_conforming_strings=off'));
    expect(got.toString('latin1')).toContain('FATAL');
    expect(got.toString('latin1')).toContain('42501');
  });
});
