import type {
  AcceptConnection,
  Client,
  ClientChannel,
  PseudoTtyInfo,
  PseudoTtyOptions,
  RejectConnection,
  ServerChannel,
  Session,
  WindowChangeInfo,
} from 'ssh2';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { SshRequestDetail } from '../policy/index.js';
import type { ChannelAudit } from './channel-audit.js';
import { ChannelBridge } from './channel-bridge.js';
import { describeRequest, EXIT_DENIED, EXIT_GATEWAY_ERROR } from './ssh-decider.js';
import type { SshDecider, SshVerdict } from './ssh-decider.js';
import type { StreamMasker } from './stream-masker.js';
import { watchExit } from './upstream-exit.js';
import type { UpstreamExit } from './upstream-exit.js';

/** An upstream channel, with its exit recorded from the moment it opened. */
type OpenedChannel = { channel: ClientChannel; exit: () => UpstreamExit | undefined };

/** Bounds of one session's channels (from the SSH listener config). */
export type SshChannelTimeouts = {
  /** Opening a channel on the upstream connection. */
  openMs: number;
  /** The last output or a refusal line reaching the client before the exit status. */
  flushMs: number;
  /** Closing with a message: how long the client gets to hang up before it is disconnected. */
  closeGraceMs: number;
};

/** What a session channel needs from its SSH session. */
export type ChannelDeps = {
  upstream: Client;
  decide: SshDecider;
  audit: ChannelAudit;
  nextRequestId: () => number;
  /** A masker for one output stream, or null when there is nothing to mask. */
  maskerFor: (detectors: readonly string[]) => StreamMasker | null;
  maskFlushMs: number;
  /** Bounds on opening the upstream channel and on flushing output before the exit status (listener config). */
  timeouts: SshChannelTimeouts;
  log: Logger;
  /** Any channel traffic (resets the idle timer). */
  activity: () => void;
  /** The audit log refused an event: the whole session closes (fail closed). */
  auditFailed: (err: unknown) => void;
};

/** Environment variables passed upstream from `env` requests (locale only; everything else is refused). */
const FORWARDED_ENV = /^(?:LANG|LANGUAGE|LC_[A-Z_]+)$/;
const MAX_ENV = 32;
const MAX_ENV_VALUE = 256;

export const ChannelState = {
  /** Collecting pty/env before exec, shell or subsystem. */
  Setup: 'setup',
  /** Policy (and possibly an approval) is deciding; client input waits in the channel's window. */
  Deciding: 'deciding',
  Running: 'running',
  Closed: 'closed',
} as const;
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

/**
 * One client `session` channel: exec, shell or subsystem, decided by policy and then bridged to a channel on the
 * upstream connection (the data path is a `ChannelBridge`). Replies go out in request order, the work behind them
 * is queued so that window changes and signals reach the upstream channel only once it exists. A refused exec or
 * shell ends with `gatehouse: denied: <reasons>` on stderr and exit status 126 (255 for gateway failures).
 */
export class SessionChannel {
  readonly #d: ChannelDeps;
  readonly #onClose: () => void;
  readonly #abort = new AbortController();
  #state: ChannelState = ChannelState.Setup;
  #queue: Promise<void> = Promise.resolve();
  #pty: PseudoTtyInfo | null = null;
  readonly #env: Record<string, string> = {};
  #client: ServerChannel | undefined;
  #bridge: ChannelBridge | undefined;
  #requestId = 0;
  #revision = '';
  #aborting = false;

  constructor(session: Session, deps: ChannelDeps, onClose: () => void) {
    this.#d = deps;
    this.#onClose = onClose;
    // Replies go out synchronously, in request order: ssh2 refuses a late accept once the client has sent EOF
    // (which `ssh` does right after `exec` when its stdin is empty). The work behind them is queued.
    session.on('pty', (accept, reject, info) => {
      if (this.#state !== ChannelState.Setup) return reject?.();
      this.#pty = info;
      accept?.();
    });
    session.on('env', (accept, reject, info) => {
      const ok =
        this.#state === ChannelState.Setup &&
        FORWARDED_ENV.test(info.key) &&
        info.val.length <= MAX_ENV_VALUE &&
        Object.keys(this.#env).length < MAX_ENV;
      if (ok) this.#env[info.key] = info.val;
      (ok ? accept : reject)?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      accept?.();
      this.#enqueue(() => this.#windowChange(info));
    });
    session.on('signal', (accept, _reject, info) => {
      accept?.();
      this.#enqueue(() => this.#signal(info.name));
    });
    session.on('x11', (_accept, reject) => {
      reject?.();
      this.#enqueue(() => this.#unsupported({ type: 'x11' }));
    });
    session.on('auth-agent', (_accept, reject) => {
      reject?.();
      this.#enqueue(() => this.#unsupported({ type: 'agent_forward' }));
    });
    session.on('exec', (accept, _reject, info) => {
      const client = accept();
      const detail = { type: 'exec', command: info.command, pty: this.#pty !== null } as const;
      if (client) this.#enqueue(() => this.#start(client, detail));
    });
    session.on('shell', (accept) => {
      const client = accept();
      const detail = { type: 'shell', pty: this.#pty !== null } as const;
      if (client) this.#enqueue(() => this.#start(client, detail));
    });
    // A subsystem speaks a binary protocol: its refusal is the request's failure reply, so it waits for policy.
    session.on('subsystem', (accept, reject, info) =>
      this.#enqueue(() => this.#subsystem(accept, reject, info.name)),
    );
    session.on('close', () => this.close());
  }

  get state(): ChannelState {
    return this.#state;
  }

  #enqueue(step: () => Promise<void> | void): void {
    this.#queue = this.#queue
      .then(() => (this.#state === ChannelState.Closed ? undefined : step()))
      .catch((err: unknown) => this.#internalError(err));
  }

  async #start(client: ServerChannel, detail: SshRequestDetail): Promise<void> {
    this.#client = client;
    client.on('error', (err: Error) =>
      logError(this.#d.log, err, 'client channel error', { level: 'debug' }),
    );
    this.#state = ChannelState.Deciding;
    this.#requestId = this.#d.nextRequestId();
    const verdict = await this.#d.decide(detail, this.#requestId, {
      notify: (line) => this.#notice(line),
      signal: this.#abort.signal,
    });
    if (this.#closed()) return;
    this.#revision = verdict.revision;
    if (!verdict.allow) return this.#refuse(verdict);
    let upstream: OpenedChannel;
    try {
      upstream = await this.#open(detail);
    } catch (err) {
      logError(this.#d.log, err, 'upstream refused the channel', { level: 'warn', request: this.#requestId });
      return this.#fail(`gatehouse: the upstream host refused the ${describeRequest(detail).kind} request`);
    }
    if (this.#closed()) {
      upstream.channel.on('error', () => undefined);
      upstream.channel.close();
      return;
    }
    try {
      if (this.#pty) {
        const p = this.#pty;
        this.#d.audit.note(
          this.#requestId,
          'pty',
          { text: p.term, code: `${p.cols}x${p.rows}` },
          this.#revision,
        );
      }
    } catch (err) {
      return this.#d.auditFailed(err);
    }
    this.#run(upstream, verdict.detectors);
  }

  async #subsystem(
    accept: AcceptConnection<ServerChannel>,
    reject: RejectConnection | undefined,
    name: string,
  ): Promise<void> {
    this.#state = ChannelState.Deciding;
    this.#requestId = this.#d.nextRequestId();
    const verdict = await this.#d.decide({ type: 'subsystem', subsystem: name }, this.#requestId, {
      notify: (line) => this.#d.log.info({ request: this.#requestId }, line),
      signal: this.#abort.signal,
    });
    if (this.#closed()) return;
    this.#revision = verdict.revision;
    let upstream: OpenedChannel | undefined;
    if (verdict.allow) {
      upstream = await new Promise<OpenedChannel | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.#d.timeouts.openMs);
        this.#d.upstream.subsys(name, (err, ch) => {
          clearTimeout(timer);
          resolve(err ? undefined : { channel: ch, exit: watchExit(ch) });
        });
      });
    }
    if (!upstream || this.#closed()) {
      // Refuse the request (a subsystem speaks a binary protocol: no stderr message).
      upstream?.channel.close();
      if (reject) reject();
      else accept()?.end();
      this.close();
      return;
    }
    this.#client = accept();
    if (!this.#client) return void upstream.channel.close();
    this.#client.on('error', (err: Error) =>
      logError(this.#d.log, err, 'client channel error', { level: 'debug' }),
    );
    // Subsystems (sftp) speak binary protocols: recorded, never masked (masking would corrupt them).
    this.#run(upstream, []);
  }

  /** x11 and agent forwarding: refused even when allowed (not supported yet), but decided and recorded. */
  async #unsupported(detail: SshRequestDetail): Promise<void> {
    const requestId = this.#d.nextRequestId();
    const verdict = await this.#d.decide(detail, requestId, {
      notify: (line) => this.#d.log.info({ request: requestId }, line),
      signal: this.#abort.signal,
    });
    if (verdict.allow)
      this.#d.log.warn({ request: requestId, type: detail.type }, 'allowed by policy, not supported');
  }

  #open(detail: SshRequestDetail): Promise<OpenedChannel> {
    const up = this.#d.upstream;
    const p = this.#pty;
    const pty: PseudoTtyOptions | undefined = p
      ? { rows: p.rows, cols: p.cols, width: p.width, height: p.height, term: p.term, modes: p.modes }
      : undefined;
    const env = { ...this.#env };
    return new Promise<OpenedChannel>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('timed out opening the upstream channel')),
        this.#d.timeouts.openMs,
      );
      const done = (err: Error | undefined, ch: ClientChannel): void => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve({ channel: ch, exit: watchExit(ch) });
      };
      if (detail.type === 'exec') up.exec(detail.command, { ...(pty ? { pty } : {}), env }, done);
      else up.shell(pty ?? false, { env }, done);
    });
  }

  #run(upstream: OpenedChannel, detectors: readonly string[]): void {
    const d = this.#d;
    this.#state = ChannelState.Running;
    this.#bridge = new ChannelBridge({
      client: this.#client!,
      upstream: upstream.channel,
      exit: upstream.exit,
      audit: d.audit,
      requestId: this.#requestId,
      revision: this.#revision,
      masker: () => d.maskerFor(detectors),
      maskFlushMs: d.maskFlushMs,
      flushTimeoutMs: d.timeouts.flushMs,
      log: d.log,
      activity: d.activity,
      auditFailed: d.auditFailed,
      onFinished: () => this.close(),
    });
    this.#bridge.start();
  }

  #windowChange(info: WindowChangeInfo): void {
    this.#d.activity();
    if (this.#bridge) this.#bridge.windowChange(info);
    else if (this.#pty) this.#pty = { ...this.#pty, ...info };
  }

  #signal(name: string): void {
    this.#bridge?.signal(name);
  }

  /** A line on the client's stderr while deciding (approval waits), recorded like any output. */
  #notice(line: string): void {
    const client = this.#client;
    if (!client || this.#closed()) return;
    const bytes = Buffer.from(`${line}${this.#pty ? '\r\n' : '\n'}`);
    try {
      this.#d.audit.data(this.#requestId, 'stderr', bytes, this.#revision);
    } catch (err) {
      return this.#d.auditFailed(err);
    }
    client.stderr.write(bytes);
  }

  #refuse(verdict: SshVerdict): Promise<void> {
    const text = verdict.reasons.join('; ') || 'denied';
    return verdict.exitStatus === EXIT_DENIED
      ? this.#fail(`gatehouse: denied: ${text}`, EXIT_DENIED)
      : this.#fail(`gatehouse: ${text}`, verdict.exitStatus);
  }

  /** Ends the channel with a stderr line and an exit status (recorded when the audit log still takes events). */
  async #fail(message: string, status = EXIT_GATEWAY_ERROR, record = true): Promise<void> {
    const client = this.#client;
    if (!client || this.#closed()) return this.close();
    const bytes = Buffer.from(`${message}${this.#pty ? '\r\n' : '\n'}`);
    if (record) {
      try {
        this.#d.audit.data(this.#requestId, 'stderr', bytes, this.#revision);
        this.#d.audit.note(this.#requestId, 'exit_status', { code: String(status) }, this.#revision);
      } catch (err) {
        logError(this.#d.log, err, 'refusal not recorded', { level: 'warn' });
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#d.timeouts.flushMs);
      client.stderr.write(bytes, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.#closed()) return;
    client.exit(status);
    client.end();
    this.close();
  }

  /** Ends the channel at once with a message that is not recorded (the audit log is gone, or the node stops). */
  abort(message: string): Promise<void> {
    if (this.#closed() || this.#aborting) return Promise.resolve();
    this.#aborting = true;
    this.#bridge?.stop();
    if (this.#client) return this.#fail(message, EXIT_GATEWAY_ERROR, false);
    this.close();
    return Promise.resolve();
  }

  #internalError(err: unknown): void {
    logError(this.#d.log, err, 'ssh channel failed', { withStack: true });
    if (this.#client) void this.#fail('gatehouse: internal gateway error');
    else this.close();
  }

  #closed(): boolean {
    return this.#state === ChannelState.Closed;
  }

  close(): void {
    if (this.#state === ChannelState.Closed) return;
    this.#state = ChannelState.Closed;
    this.#abort.abort();
    this.#bridge?.stop();
    if (this.#client && this.#client.writable) this.#client.end();
    this.#onClose();
  }
}
