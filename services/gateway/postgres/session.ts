import { randomBytes } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { ResponseSchema, SessionClosedSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { AuditUnavailableError } from '../../shared/errors.js';
import type { EventBody } from '../../shared/events/session-events.js';
import { logError } from '../../shared/log-error.js';
import { auditRefusedMessage } from '../session-audit.js';
import {
  BackendCode,
  BackendSplitter,
  errorResponse,
  noticeResponse,
  PgProtocolError,
  queryMessage,
} from '../../shared/pg-wire/index.js';
import type { FrontendMessage } from '../../shared/pg-wire/index.js';
import type { SqlAnalysis } from '../sql/index.js';
import { writeViews } from './adjacent-views.js';
import { ExtendedProtocol } from './extended-protocol.js';
import { NameRegistry } from './name-registry.js';
import { effectsOf, resolveStatements } from './name-resolution.js';
import { pinnedStatusChange } from './pinned-settings.js';
import { ResponsePipeline } from './response-pipeline.js';
import type { PgSessionOptions } from './session-options.js';
import type { Denial } from './response-pipeline.js';
import type { SqlDecider, SqlVerdict } from './verdict.js';

export const SessionState = {
  Active: 'active',
  /** After a refused message of the extended protocol: drop client messages until Sync, as the server would. */
  Skipping: 'skipping',
  Closed: 'closed',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/**
 * One proxied PostgreSQL session after login. Client messages are handled strictly in order: each SQL text is
 * decided before it is forwarded (awaiting Kafka's ack for anything that may change state); refused messages are
 * replaced by a probe whose upstream error is swapped for the policy's error, so responses stay in protocol order.
 */
export class PgSession {
  readonly #o: PgSessionOptions;
  readonly #pipeline: ResponsePipeline;
  readonly #splitter: BackendSplitter;
  readonly #names: NameRegistry;
  readonly #extended: ExtendedProtocol;
  #state: SessionState = SessionState.Active;
  #requestId = 0;
  #busy = false;
  /** Bytes forwarded upstream while client messages are being handled (see #drain); null otherwise. */
  #upstreamOut: Buffer[] | null = null;
  /** The client's last chunk: what is forwarded of it, unchanged and whole, is written as that very buffer. */
  #clientChunk: Buffer | undefined;
  readonly #closed = new AbortController();
  readonly #started = Date.now();

  constructor(o: PgSessionOptions) {
    this.#o = o;
    this.#pipeline = new ResponsePipeline(o.maskers, o.copyMasker, o.limits);
    this.#splitter = new BackendSplitter({ maxMessageSize: o.limits.maxBackendMessageBytes });
    this.#names = new NameRegistry(o.limits.maxNames);
    this.#extended = new ExtendedProtocol({
      names: this.#names,
      pipeline: this.#pipeline,
      audit: o.audit,
      maxNames: o.limits.maxNames,
      nextRequestId: () => ++this.#requestId,
      decide: (sql, requestId, kind, analysis) => this.#decide(sql, requestId, kind, analysis),
      forward: (bytes) => this.#forward(bytes),
      refusal: (v, requestId) => this.#refusal(v, requestId),
      denial: (sqlstate, message, detail) => this.#denial(sqlstate, message, detail),
      skip: () => {
        this.#state = SessionState.Skipping;
      },
    });
  }

  get requests(): number {
    return this.#requestId;
  }

  /** The session's prepared statements and cursors (masking finds the statement behind a name here). */
  get names(): NameRegistry {
    return this.#names;
  }

  start(): void {
    const { client, upstream } = this.#o;
    client.on('data', (chunk: Buffer) => {
      this.#clientChunk = chunk;
      this.#o.parser.push(chunk);
      this.#pump();
    });
    upstream.on('data', (chunk: Buffer) => this.#onUpstream(chunk));
    client.on('close', () => this.close('client closed'));
    upstream.on('close', () => this.close('upstream closed'));
    client.on('error', (err) => logError(this.#o.log, err, 'client socket error', { level: 'debug' }));
    upstream.on('error', (err) => logError(this.#o.log, err, 'upstream socket error', { level: 'warn' }));
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => client.resume());
    if (this.#o.limits.idleTimeoutMs > 0) {
      client.setTimeout(this.#o.limits.idleTimeoutMs, () =>
        this.#fatal('57P05', 'terminating connection due to idle timeout', 'idle timeout'),
      );
    }
    this.#pump(); // messages that arrived with the password
    this.#o.audit.onFailure((err) => {
      this.#o.log.error({ reason: err.reason }, 'the audit log refused a record of this session: closing it');
      const tooLarge = /TOO_LARGE/.test(err.reason);
      this.#fatal(tooLarge ? '54000' : '58000', auditRefusedMessage(err.reason), 'audit refused');
    });
  }

  /** Processes buffered client messages in order; pauses the client while a message awaits Kafka. */
  #pump(): void {
    if (this.#busy || this.#state === SessionState.Closed) return;
    this.#busy = true;
    this.#drain();
  }

  /**
   * Handles buffered client messages until none is left (synchronously: no promise per chunk) or one awaits Kafka,
   * and resumes after it. Everything forwarded for one batch of client messages leaves in one write.
   */
  #drain(): void {
    this.#upstreamOut = [];
    try {
      for (;;) {
        const msg = this.#o.parser.read();
        if (msg === null) break;
        const pending = this.#handle(msg);
        if (pending) {
          this.#flushUpstream();
          this.#o.client.pause();
          pending.then(
            () => {
              if (this.#state === SessionState.Closed) {
                this.#busy = false;
                return;
              }
              this.#o.client.resume();
              this.#drain();
            },
            (err: unknown) => {
              this.#failed(err);
              this.#busy = false;
            },
          );
          return;
        }
        if (this.#state === SessionState.Closed) break;
      }
    } catch (err) {
      this.#failed(err);
    }
    this.#flushUpstream();
    this.#busy = false;
  }

  #failed(err: unknown): void {
    this.#upstreamOut = null;
    if (err instanceof PgProtocolError) this.#fatal(err.sqlstate, err.message, 'protocol error');
    else {
      logError(this.#o.log, err, 'session failed', { withStack: true });
      this.#fatal('XX000', 'internal gateway error', 'internal error');
    }
  }

  /** Writes what was forwarded since the last flush: adjacent views of one client chunk as one write, no copy. */
  #flushUpstream(): void {
    const parts = this.#upstreamOut;
    this.#upstreamOut = null;
    if (parts === null || parts.length === 0 || this.#state === SessionState.Closed) return;
    if (writeViews(this.#o.upstream, parts, this.#clientChunk)) this.#o.client.pause();
  }

  #handle(msg: FrontendMessage): Promise<void> | void {
    if (this.#state === SessionState.Skipping) {
      if (msg.type === 'Sync') this.#state = SessionState.Active;
      else if (msg.type !== 'Terminate') return; // the server would ignore these too
    }
    switch (msg.type) {
      case 'Query':
        return this.#query(msg.sql, msg.raw);
      case 'Parse':
        return this.#extended.parse(msg.name, msg.query, msg.raw);
      case 'Bind':
        return this.#extended.bind(msg.portal, msg.statement, msg.resultFormats, msg.raw);
      case 'Describe': {
        const portal = msg.target === 'S' ? undefined : this.#names.portalFor(msg.name);
        const target = msg.target === 'S' ? this.#names.statementFor(msg.name) : portal;
        if (portal) portal.describing = true;
        this.#pipeline.expect({
          kind: 'describe',
          injected: false,
          onFields: (fields) => {
            if (target) target.fields = fields;
          },
        });
        return this.#forward(msg.raw);
      }
      case 'Execute':
        return this.#extended.execute(msg.portal, msg.raw);
      case 'Sync':
        this.#pipeline.expect({ kind: 'sync' });
        this.#names.expectSync();
        return this.#forward(msg.raw);
      case 'Close':
        this.#names.expect('close', [{ t: msg.target === 'S' ? 'statement-' : 'portal-', name: msg.name }]);
        this.#pipeline.expect({ kind: 'close' });
        return this.#forward(msg.raw);
      case 'Flush':
        return this.#forward(msg.raw);
      case 'CopyData':
        this.#o.audit.batched(clientFrame(this.#requestId, 'copy_in', msg.data));
        return this.#forward(msg.raw);
      case 'CopyDone':
      case 'CopyFail':
        return this.#forward(msg.raw);
      case 'Terminate':
        this.#flushUpstream();
        this.#o.upstream.end(msg.raw);
        this.close('client terminated');
        return;
      case 'FunctionCall': {
        // The fast-path function call bypasses SQL analysis: always refused.
        const denial = this.#denial(
          '42501',
          'gatehouse: the fast-path function call protocol is not allowed',
          '',
        );
        this.#pipeline.expect({ kind: 'query', requestId: ++this.#requestId, mask: null, denial });
        this.#names.expectQuery([]);
        return this.#forward(queryMessage(`SELECT "${denial.token}"`));
      }
      default:
        throw new PgProtocolError(`unexpected ${msg.type} message after login`);
    }
  }

  /** Decides, and when policy asks for approval, holds this request (and so the session's later ones). */
  #decide(
    sql: string,
    requestId: number,
    kind: Parameters<SqlDecider>[2],
    analysis?: SqlAnalysis,
  ): {
    verdict: SqlVerdict | Promise<SqlVerdict>;
    analysis: SqlAnalysis | null;
    unresolved: SqlAnalysis | null;
  } {
    const hold = (v: SqlVerdict): SqlVerdict | Promise<SqlVerdict> =>
      v.allow || !v.hold ? v : v.hold((message) => this.#notice(requestId, message), this.#closed.signal);
    let resolved: SqlAnalysis | null = null;
    let unresolved: SqlAnalysis | null = null;
    const resolve = (a: SqlAnalysis): SqlAnalysis => {
      unresolved = a;
      resolved = a.statements.some((x) => x.name_ref !== null)
        ? { ...a, statements: resolveStatements(a.statements, this.#names) }
        : a;
      return resolved;
    };
    if (analysis) resolved = unresolved = analysis; // already resolved by the caller
    const verdict = this.#o.decide(sql, requestId, kind, analysis ? { analysis } : { resolve });
    return {
      verdict: verdict instanceof Promise ? verdict.then(hold) : hold(verdict),
      analysis: resolved,
      unresolved,
    };
  }

  /** A NoticeResponse to the client, recorded like every frame it receives. */
  #notice(requestId: number, message: string): void {
    const raw = noticeResponse({ severity: 'NOTICE', code: '00000', message });
    this.#o.audit.batched({
      case: 'response',
      value: create(ResponseSchema, { requestId, frame: 'notice', data: raw, text: message, code: '00000' }),
    });
    this.#o.client.write(raw);
  }

  #query(sql: string, raw: Buffer): Promise<void> | void {
    const requestId = ++this.#requestId;
    const { verdict, analysis } = this.#decide(sql, requestId, 'sql');
    const effects = analysis?.statements.map(effectsOf) ?? [];
    const apply = (v: SqlVerdict): void => {
      const refused = v.allow ? this.#extended.overLimit(effects.flat()) : this.#refusal(v, requestId);
      if (refused === null) {
        this.#pipeline.expect({ kind: 'query', requestId, mask: v.mask, denial: null });
        this.#names.expectQuery(effects);
        this.#forward(raw);
        return;
      }
      this.#pipeline.expect({ kind: 'query', requestId, mask: null, denial: refused });
      this.#names.expectQuery([]);
      this.#forward(queryMessage(`SELECT "${refused.token}"`));
    };
    return verdict instanceof Promise ? verdict.then(apply) : apply(verdict);
  }

  #refusal(verdict: SqlVerdict, requestId: number): Denial {
    const detail = `session ${this.#o.audit.sessionId}, request ${requestId}, policy revision ${verdict.revision || 'none'}`;
    return this.#denial(verdict.sqlstate, `gatehouse: ${verdict.reasons.join('; ') || 'denied'}`, detail);
  }

  #denial(sqlstate: string, message: string, detail: string): Denial {
    return { token: `gatehouse_denied_${randomBytes(8).toString('hex')}`, sqlstate, message, detail };
  }

  #forward(bytes: Buffer): void {
    if (this.#upstreamOut !== null) this.#upstreamOut.push(bytes);
    else if (!this.#o.upstream.write(bytes)) this.#o.client.pause();
  }

  #onUpstream(chunk: Buffer): void {
    this.#splitter.push(chunk);
    const out: Buffer[] = [];
    const events: EventBody[] = [];
    try {
      for (let f = this.#splitter.read(); f !== null; f = this.#splitter.read()) {
        if (f.code === BackendCode.ParameterStatus) {
          const changed = pinnedStatusChange(f.payload);
          if (changed !== null) {
            this.#o.log.warn({ reason: changed }, 'pinned setting changed upstream');
            this.#fatal('42501', `gatehouse: ${changed}; session closed`, 'pinned setting changed');
            return;
          }
        }
        this.#names.onBackend(f.code, f.payload);
        this.#pipeline.handle(f, out, events);
      }
      this.#pipeline.endChunk(events);
      // Audit first: bytes the log refused never reach the client.
      for (const e of events) this.#o.audit.batched(e);
    } catch (err) {
      if (err instanceof AuditUnavailableError) {
        this.#fatal(
          '57P03',
          'audit log unavailable: gatehouse cannot record this session',
          'audit unavailable',
        );
      } else if (err instanceof PgProtocolError && err.sqlstate === '54000') {
        // A server message over maxBackendMessageBytes (the error names sizes only, never payload).
        this.#fatal('54000', `gatehouse: ${err.message}; session closed`, 'upstream message too large');
      } else {
        logError(this.#o.log, err, 'upstream stream failed');
        this.#fatal('08P01', 'invalid data from the upstream server', 'upstream protocol error');
      }
      return;
    }
    // Frames that pass unchanged are adjacent views of the upstream chunk: written as one view, not copied.
    if (writeViews(this.#o.client, out, chunk)) this.#o.upstream.pause();
  }

  #fatal(sqlstate: string, message: string, reason: string): void {
    if (this.#state === SessionState.Closed) return;
    this.#o.client.end(errorResponse({ severity: 'FATAL', code: sqlstate, message }));
    this.close(reason);
  }

  close(reason: string): void {
    if (this.#state === SessionState.Closed) return;
    this.#state = SessionState.Closed;
    this.#closed.abort();
    this.#o.upstream.destroy();
    if (!this.#o.client.destroyed) this.#o.client.end();
    try {
      this.#o.audit.batched({
        case: 'sessionClosed',
        value: create(SessionClosedSchema, {
          reason,
          requests: BigInt(this.#requestId),
          durationMicros: BigInt((Date.now() - this.#started) * 1000),
        }),
      });
    } catch (err) {
      logError(this.#o.log, err, 'could not record session close');
    }
    this.#o.onClose(reason);
  }
}

function clientFrame(requestId: number, name: string, data: Buffer): EventBody {
  return { case: 'response', value: create(ResponseSchema, { requestId, frame: name, data }) };
}
