import { create } from '@bufbuild/protobuf';
import type { Client, Connection } from 'ssh2';
import { SessionClosedSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { SessionAudit } from '../session-audit.js';
import type { ChannelAudit } from './channel-audit.js';
import { openLocalForward } from './forward-channel.js';
import { SessionChannel } from './session-channel.js';
import type { SshChannelTimeouts } from './session-channel.js';
import type { SshDecider } from './ssh-decider.js';
import type { StreamMasker } from './stream-masker.js';

export type SshSessionOptions = {
  conn: Connection;
  upstream: Client;
  audit: SessionAudit;
  channelAudit: ChannelAudit;
  decide: SshDecider;
  maskerFor: (detectors: readonly string[]) => StreamMasker | null;
  maskFlushMs: number;
  timeouts: SshChannelTimeouts;
  /** Close the session after this long without channel traffic. 0 disables. */
  idleTimeoutMs: number;
  log: Logger;
  onClose: (reason: string) => void;
};

/**
 * One authenticated SSH connection and the gateway's own connection to the upstream host. Session channels
 * (exec, shell, subsystem) and local port forwards are decided one by one; remote forwarding
 * (`tcpip-forward`), X11 and agent forwarding are decided and recorded but always refused (not supported yet).
 */
export class SshSession {
  readonly #o: SshSessionOptions;
  readonly #channels = new Set<SessionChannel>();
  readonly #forwards = new Set<() => void>();
  readonly #abort = new AbortController();
  readonly #started = Date.now();
  #requestId = 0;
  #closed = false;
  #idle: NodeJS.Timeout | undefined;

  constructor(opts: SshSessionOptions) {
    this.#o = opts;
  }

  get requests(): number {
    return this.#requestId;
  }

  get sessionId(): string {
    return this.#o.audit.sessionId;
  }

  start(): void {
    const { conn, upstream, log } = this.#o;
    const common = {
      upstream,
      decide: this.#o.decide,
      audit: this.#o.channelAudit,
      nextRequestId: () => ++this.#requestId,
      log,
      activity: () => this.#idle?.refresh(),
      auditFailed: (err: unknown) => this.#auditFailed(err),
      timeouts: this.#o.timeouts,
    };
    conn.on('session', (accept, reject) => {
      if (this.#closed) return reject();
      const channel: SessionChannel = new SessionChannel(
        accept(),
        { ...common, maskerFor: this.#o.maskerFor, maskFlushMs: this.#o.maskFlushMs },
        () => this.#channels.delete(channel),
      );
      this.#channels.add(channel);
    });
    conn.on('tcpip', (accept, reject, info) => {
      if (this.#closed) return reject();
      openLocalForward(common, info, accept, reject, this.#abort.signal).then(
        (closer) => {
          if (closer) this.#forwards.add(closer);
        },
        (err: unknown) => {
          logError(log, err, 'port forward failed');
          reject();
        },
      );
    });
    conn.on('request', (accept, reject, name, info) => {
      void accept;
      if (name !== 'tcpip-forward' || !('bindPort' in info)) return reject?.();
      const requestId = ++this.#requestId;
      this.#o
        .decide(
          { type: 'port_forward', direction: 'remote', host: info.bindAddr, port: info.bindPort },
          requestId,
          {
            notify: (line) => log.info({ request: requestId }, line),
            signal: this.#abort.signal,
          },
        )
        .then((v) => {
          if (v.allow)
            log.warn({ request: requestId }, 'remote port forwarding allowed by policy, not supported');
        })
        .catch((err: unknown) => logError(log, err, 'remote forward decision failed'))
        .finally(() => reject?.());
    });
    conn.on('close', () => this.close('client closed'));
    conn.on('error', (err: Error) => logError(log, err, 'client connection error', { level: 'debug' }));
    upstream.on('close', () => this.close('upstream closed', 'gatehouse: upstream connection lost'));
    upstream.on('error', (err: Error) =>
      logError(log, err, 'upstream connection error', { level: 'warn', withStack: true }),
    );
    if (this.#o.idleTimeoutMs > 0) {
      this.#idle = setTimeout(
        () => this.close('idle timeout', 'gatehouse: idle timeout: session closed'),
        this.#o.idleTimeoutMs,
      );
    }
  }

  #auditFailed(err: unknown): void {
    logError(this.#o.log, err, 'audit log unavailable: closing the session');
    this.close('audit unavailable', 'gatehouse: audit log unavailable: session closed');
  }

  /** Ends the session; open channels get `message` on stderr and exit status 255 first. */
  close(reason: string, message?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#abort.abort();
    const goodbyes = [...this.#channels].map((c) =>
      message ? c.abort(message) : (c.close(), Promise.resolve()),
    );
    for (const f of this.#forwards) f();
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
    // The channels say goodbye (stderr line, exit status, close) first; then the client gets the grace time to
    // hang up itself. OpenSSH exits on a DISCONNECT without writing out channel data it has not printed yet, so
    // disconnecting at once could swallow the goodbye line.
    const conn = this.#o.conn;
    let timer: NodeJS.Timeout | undefined;
    const hungUp = new Promise<void>((resolve) => conn.once('close', () => resolve()));
    void Promise.race([
      Promise.all(goodbyes).then(() => (message ? hungUp : undefined)),
      new Promise((r) => (timer = setTimeout(r, this.#o.timeouts.closeGraceMs))),
    ]).finally(() => {
      clearTimeout(timer);
      this.#o.upstream.end();
      conn.end();
    });
    this.#o.onClose(reason);
  }
}
