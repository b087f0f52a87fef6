import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import { afterEach, beforeAll } from 'vitest';
import { SessionEvents } from '../../services/shared/events/session-events.js';
import { createLogger } from '../../services/shared/logger.js';
import { createCopyMasker, createRowMaskerFactory } from '../../services/gateway/masking/index.js';
import { BackendSplitter, errorResponse, FrontendParser } from '../../services/shared/pg-wire/index.js';
import type { BackendFrame, FrontendMessage } from '../../services/shared/pg-wire/index.js';
import type { MaskSpec } from '../../services/gateway/postgres/response-pipeline.js';
import { PgSession } from '../../services/gateway/postgres/session.js';
import type { PgSessionOptions } from '../../services/gateway/postgres/session-options.js';
import type { SqlDecider, SqlRequestKind, SqlVerdict } from '../../services/gateway/postgres/verdict.js';
import { SessionAudit } from '../../services/gateway/session-audit.js';
import { MemoryPublisher } from '../memory-publisher.js';
import { analyzeSqlSync, loadSqlParser } from '../../services/gateway/sql/index.js';
import type { SqlAnalysis } from '../../services/gateway/sql/index.js';

/*
 * A PostgreSQL session below any client: the test holds the client's end of one socket pair and the upstream's
 * end of another, writes frontend byte fixtures on one and scripted backend byte fixtures on the other, and reads
 * exactly what `PgSession` passed through. Audit events land in an in-memory publisher. A test file calls
 * `useSessionHarness()` once at its top level and starts sessions with the function it returns.
 */

/** Two connected TCP sockets on 127.0.0.1 (a listener on port 0, closed once the pair exists). */
export async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer({ noDelay: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const a = connect({ host: '127.0.0.1', port, noDelay: true });
  const b = await accepted;
  await new Promise<void>((resolve) => (a.readyState === 'open' ? resolve() : a.once('connect', resolve)));
  server.close();
  return [a, b];
}

/** Waits until `ready()` holds, polling; fails naming `what` after `timeoutMs`. */
export async function waitUntil(ready: () => boolean, what: () => string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await sleep(5);
  }
}

/** One end of a socket pair that collects what it receives. */
class Peer {
  readonly socket: Socket;
  #bytes = Buffer.alloc(0);
  #ended = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#bytes = Buffer.concat([this.#bytes, chunk]);
      this.onBytes(chunk);
    });
    socket.on('close', () => (this.#ended = true));
    socket.on('error', () => socket.destroy());
  }

  protected onBytes(_chunk: Buffer): void {}

  /** Every byte received so far. */
  bytes(): Buffer {
    return this.#bytes;
  }

  /** Whether the other side closed this connection. */
  get ended(): boolean {
    return this.#ended;
  }

  write(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  untilClosed(timeoutMs?: number): Promise<void> {
    return waitUntil(
      () => this.#ended,
      () => 'the connection to close',
      timeoutMs,
    );
  }
}

/** The client's end: what the session sends, split into backend messages. */
export class ClientPeer extends Peer {
  readonly frames: BackendFrame[] = [];
  readonly #splitter = new BackendSplitter();

  protected override onBytes(chunk: Buffer): void {
    this.#splitter.push(chunk);
    for (let f = this.#splitter.read(); f !== null; f = this.#splitter.read()) this.frames.push(f);
  }

  /** Waits for the `n`th ReadyForQuery received since the session started. */
  untilReady(n = 1): Promise<void> {
    return waitUntil(
      () => this.frames.filter((f) => f.code === 0x5a).length >= n,
      () => `ReadyForQuery #${n}; got ${JSON.stringify(this.bytes().toString('latin1'))}`,
    );
  }
}

/** The upstream's end: a scripted fake PostgreSQL backend that reads typed frontend messages. */
export class FakeBackend extends Peer {
  readonly messages: FrontendMessage[] = [];
  readonly #parser = new FrontendParser();

  constructor(socket: Socket) {
    super(socket);
    // The session starts after login: move the parser past the startup phase.
    this.#parser.push(serialize.startup({ user: 'gatehouse', database: 'fake' }));
    this.#parser.read();
  }

  protected override onBytes(chunk: Buffer): void {
    this.#parser.push(chunk);
    for (let m = this.#parser.read(); m !== null; m = this.#parser.read()) this.messages.push(m);
  }

  /** Waits until `n` messages arrived in total and returns them all. */
  async untilMessages(n: number): Promise<FrontendMessage[]> {
    await waitUntil(
      () => this.messages.length >= n,
      () => `${n} frontend messages; got ${this.messages.map((m) => m.type).join(',')}`,
    );
    return this.messages;
  }

  /** Waits for the `n`th Sync or Query received (one unit of work the server would answer with ReadyForQuery). */
  async untilUnits(n: number): Promise<FrontendMessage[]> {
    await waitUntil(
      () => this.messages.filter((m) => m.type === 'Sync' || m.type === 'Query').length >= n,
      () => `${n} Sync/Query messages; got ${this.messages.map((m) => m.type).join(',')}`,
    );
    return this.messages;
  }

  /** The denial token of the probe(s) received so far, in order. */
  tokens(): string[] {
    return [
      ...this.bytes()
        .toString('latin1')
        .matchAll(/gatehouse_denied_[0-9a-f]{16}/g),
    ].map((m) => m[0]);
  }
}

/** What the harness's policy answers for one decided request. */
export type Policy = (sql: string, kind: SqlRequestKind, analysis: SqlAnalysis) => SqlVerdict;

export function allow(mask: MaskSpec | null = null, batched = true): SqlVerdict {
  return { allow: true, reasons: [], sqlstate: '42501', mask, batched, revision: 'rev-1' };
}

export function deny(...reasons: string[]): SqlVerdict {
  return { allow: false, reasons, sqlstate: '42501', mask: null, batched: false, revision: 'rev-1' };
}

export type HarnessOptions = {
  policy?: Policy;
  limits?: Partial<PgSessionOptions['limits']>;
  /** Bound of the session's client-side parser (PgListener passes `maxMessageBytes`). */
  maxMessageBytes?: number;
};

export type SessionHarness = {
  client: ClientPeer;
  backend: FakeBackend;
  session: PgSession;
  publisher: MemoryPublisher;
  sessionId: string;
  /** Every decision asked for: the SQL text, the request kind and the (resolved) analysis. */
  decided: { sql: string; kind: SqlRequestKind; analysis: SqlAnalysis }[];
  /** Resolves with the reason `onClose` was called with. */
  closed: Promise<string>;
  destroy(): void;
};

/** Starts a `PgSession` between two socket pairs, wired as `PgListener` wires it (real maskers, real audit). */
export async function startSessionHarness(opts: HarnessOptions = {}): Promise<SessionHarness> {
  const [client, gwClient] = await socketPair();
  const [gwUpstream, server] = await socketPair();
  const parser = new FrontendParser({ maxMessageSize: opts.maxMessageBytes ?? 1024 * 1024 });
  parser.push(serialize.startup({ user: 'gatehouse', database: 'demo-pg' }));
  parser.read();
  const publisher = new MemoryPublisher();
  const events = new SessionEvents({
    nodeId: 'n1',
    protocol: 'postgres',
    connection: { name: 'demo-pg', tags: {} },
    identity: { sub: 'alice', email: '', groups: [], agent: false, issuer: 'i', client_id: 'c' },
  });
  const audit = new SessionAudit(events, publisher, 'sessions', 512 * 1024);
  const policy = opts.policy ?? (() => allow());
  const decided: SessionHarness['decided'] = [];
  const decide: SqlDecider = (sql, _requestId, kind, options) => {
    const a0 = options?.analysis ?? analyzeSqlSync(sql);
    const analysis = options?.resolve ? options.resolve(a0) : a0;
    decided.push({ sql, kind, analysis });
    return policy(sql, kind, analysis);
  };
  let onClose: (reason: string) => void = () => undefined;
  const closed = new Promise<string>((resolve) => (onClose = resolve));
  const session = new PgSession({
    client: gwClient,
    upstream: gwUpstream,
    parser,
    audit,
    decide,
    maskers: createRowMaskerFactory(),
    copyMasker: createCopyMasker,
    log: createLogger({ service: 'test', level: 'silent' }),
    limits: {
      rowsPerEvent: 100,
      bytesPerEvent: 64 * 1024,
      idleTimeoutMs: 0,
      maxBackendMessageBytes: 1024 * 1024,
      maxNames: 100,
      ...opts.limits,
    },
    onClose: (reason) => onClose(reason),
  });
  const h: SessionHarness = {
    client: new ClientPeer(client),
    backend: new FakeBackend(server),
    session,
    publisher,
    sessionId: audit.sessionId,
    decided,
    closed,
    destroy() {
      for (const s of [client, gwClient, gwUpstream, server]) s.destroy();
    },
  };
  session.start();
  return h;
}

/**
 * Registers the hooks of a test file (the SQL parser loaded once, every session destroyed after its test) and
 * returns the function that starts a session.
 */
export function useSessionHarness(): (opts?: HarnessOptions) => Promise<SessionHarness> {
  const started: SessionHarness[] = [];
  beforeAll(() => loadSqlParser());
  afterEach(() => {
    for (const h of started.splice(0)) h.destroy();
  });
  return async (opts) => {
    const h = await startSessionHarness(opts);
    started.push(h);
    return h;
  };
}

/** The server's answer to a simple-query probe: the token is an unknown column (what the denial swap looks for). */
export function undefinedColumn(token: string): Buffer {
  return errorResponse({ severity: 'ERROR', code: '42703', message: `column "${token}" does not exist` });
}

/** The server's answer to an extended-protocol probe (a Bind of the statement named by the token). */
export function missingStatement(token: string): Buffer {
  return errorResponse({
    severity: 'ERROR',
    code: '26000',
    message: `prepared statement "${token}" does not exist`,
  });
}

/** Backend messages the codec has no builder for (COPY), as the server sends them. */
export function copyOutResponse(columns: number, format: 0 | 1 = 0): Buffer {
  const b = Buffer.alloc(5 + 3 + 2 * columns);
  b[0] = 0x48; // 'H'
  b.writeInt32BE(b.length - 1, 1);
  b[5] = format;
  b.writeInt16BE(columns, 6);
  for (let i = 0; i < columns; i++) b.writeInt16BE(format, 8 + 2 * i);
  return b;
}

export function copyInResponse(columns: number): Buffer {
  const b = copyOutResponse(columns);
  b[0] = 0x47; // 'G'
  return b;
}

export function copyData(text: string): Buffer {
  return serialize.copyData(Buffer.from(text, 'utf8'));
}

export function copyDone(): Buffer {
  return serialize.copyDone();
}
