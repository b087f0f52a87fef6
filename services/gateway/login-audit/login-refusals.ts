import { create } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { LoginRefusedSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { encodeEvent } from '../../shared/events/codec.js';
import { SessionEvents } from '../../shared/events/session-events.js';
import type { Identity } from '../../shared/identity/index.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import { RefusalReason } from './refusal-reason.js';
import { SourceLimiter } from './source-limiter.js';
import type { Suppressed } from './source-limiter.js';

/** One refused login, as a listener saw it. */
export type LoginRefusal = {
  protocol: 'postgres' | 'ssh' | 'mcp' | 'http';
  reason: RefusalReason;
  /** The stable GH_ERR_* code. */
  code: string;
  /** "ip:port" of the client. */
  clientAddr: string;
  /** The connection name the client asked for (client-supplied; '' when it never said). */
  connection: string;
  /** The configured connection's tags, when the name exists. */
  tags?: Readonly<Record<string, string>> | undefined;
  /** The client-safe explanation (never token content). */
  detail: string;
  /** Only from a token whose signature verified. */
  identity?: Identity | undefined;
  attributes?: Readonly<Record<string, string>> | undefined;
};

export type LoginRefusalLimits = {
  burst: number;
  perSecond: number;
  maxSources: number;
  summaryIntervalMs: number;
};

export type LoginRefusalsDeps = {
  nodeId: string;
  publisher: EventPublisher;
  topic: string;
  log: Logger;
  limits: LoginRefusalLimits;
  /** Counts refusals that could not be recorded (publisher refusing) and those held back by the rate limit. */
  metrics?: { unrecorded(): void; suppressed(): void };
  now?: () => number;
};

const MAX_NAME = 128;
const MAX_DETAIL = 512;
const MAX_ATTRIBUTE = 255;
const MAX_ATTRIBUTES = 16;

/** Client-supplied text made safe for an event: printable ASCII, bounded. */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** The address part of "ip:port" (IPv6 addresses keep their colons). */
export function sourceOf(clientAddr: string): string {
  return clientAddr.replace(/:\d+$/, '');
}

/**
 * Records refused logins of every listener as `login_refused` events. Each refusal is its own stream (a fresh
 * session id, seq 1) on the sessions topic, published batched: a refusal changes nothing, and the publisher's
 * bounded buffer applies (when it refuses, the refusal is logged and counted, and the listener refuses new sessions
 * anyway). A per-source rate limit bounds a flood: beyond it refusals are counted and carried by the next recorded
 * refusal of that address (`suppressed`) or by a periodic `rate_limited` summary event.
 */
export class LoginRefusals {
  readonly #d: LoginRefusalsDeps;
  readonly #limiter: SourceLimiter;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: LoginRefusalsDeps) {
    this.#d = deps;
    this.#limiter = new SourceLimiter({
      burst: deps.limits.burst,
      perSecond: deps.limits.perSecond,
      maxSources: deps.limits.maxSources,
      ...(deps.now ? { now: deps.now } : {}),
    });
  }

  /** Starts the periodic summary of held-back refusals. */
  start(): void {
    this.#timer ??= setInterval(() => this.flush(), this.#d.limits.summaryIntervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and records what is still held back. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
  }

  record(r: LoginRefusal): void {
    const { log } = this.#d;
    log.info({ client: r.clientAddr, code: r.code, reason: r.reason, sub: r.identity?.sub }, 'login refused');
    const admission = this.#limiter.admit(sourceOf(r.clientAddr), r.reason);
    if (!admission.record) {
      this.#d.metrics?.suppressed();
      return;
    }
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.attributes ?? {}).slice(0, MAX_ATTRIBUTES)) {
      attributes[printable(k, MAX_NAME)] = printable(v, MAX_ATTRIBUTE);
    }
    this.#publish(r.protocol, printable(r.connection, MAX_NAME), r.tags ?? {}, r.identity, {
      reason: r.reason,
      code: r.code,
      clientAddr: printable(r.clientAddr, MAX_NAME),
      detail: printable(r.detail, MAX_DETAIL),
      tokenVerified: r.identity !== undefined,
      suppressed: admission.suppressed,
      attributes,
    });
  }

  /** Records one `rate_limited` summary per source with held-back refusals. */
  flush(): void {
    for (const s of this.#limiter.drain()) this.#summary(s);
  }

  #summary(s: Suppressed): void {
    const counts = [...s.reasons].map(([reason, n]) => `${reason}=${n}`).join(' ');
    this.#publish('', '', {}, undefined, {
      reason: RefusalReason.rateLimited,
      code: 'GH_ERR_LOGIN_RATE_LIMITED',
      clientAddr: s.source,
      detail: `${s.count} refused logins from this source were not recorded one by one: ${counts}`,
      tokenVerified: false,
      suppressed: s.count,
      attributes: Object.fromEntries([...s.reasons].map(([reason, n]) => [reason, String(n)])),
    });
  }

  #publish(
    protocol: string,
    connection: string,
    tags: Readonly<Record<string, string>>,
    identity: Identity | undefined,
    body: MessageInitShape<typeof LoginRefusedSchema> & { reason: string },
  ): void {
    const d = this.#d;
    const events = new SessionEvents({
      nodeId: d.nodeId,
      protocol,
      connection: { name: connection, tags },
      ...(identity ? { identity } : {}),
    });
    const event = events.next({ case: 'loginRefused', value: create(LoginRefusedSchema, body) });
    try {
      d.publisher.publishBatched({
        topic: d.topic,
        key: event.sessionId,
        value: Buffer.from(encodeEvent(event)),
      });
    } catch (err) {
      d.metrics?.unrecorded();
      d.log.warn(
        { code: (err as { code?: string }).code, reason: body.reason },
        'refused login not recorded',
      );
    }
  }
}
