import type { ClientChannel, ServerChannel, WindowChangeInfo } from 'ssh2';
import { AuditUnavailableError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { ChannelAudit } from './channel-audit.js';
import { ChannelOutput } from './channel-output.js';
import type { StreamMasker } from './stream-masker.js';
import type { UpstreamExit } from './upstream-exit.js';

export type ChannelBridgeOptions = {
  /** The client's channel (server side) and the gateway's channel on the upstream connection. */
  client: ServerChannel;
  upstream: ClientChannel;
  /** How the upstream command ended, once it has (see watchExit: recorded from the moment the channel opened). */
  exit: () => UpstreamExit | undefined;
  audit: ChannelAudit;
  requestId: number;
  revision: string;
  /** A masker for one output stream, or null when nothing is masked. */
  masker: () => StreamMasker | null;
  maskFlushMs: number;
  /** Bound on waiting for the last output to reach the client before the exit status is sent. */
  flushTimeoutMs: number;
  log: Logger;
  activity: () => void;
  auditFailed: (err: unknown) => void;
  /** Called once the exit status went to the client and its channel was ended. */
  onFinished: () => void;
};

/**
 * The running data path of one channel, client ⇄ upstream. stdin is recorded and forwarded; stdout and stderr are
 * masked, recorded and written, pausing the upstream channel while the client's channel or the audit backlog is
 * full (so backpressure reaches the upstream's SSH window). When the upstream channel ends, the remaining output is
 * flushed, then its exit status or exit signal goes to the client, then the client's channel ends.
 */
export class ChannelBridge {
  readonly #o: ChannelBridgeOptions;
  readonly #outputs: [ChannelOutput, ChannelOutput];
  readonly #paused = new Set<string>();
  readonly #abort = new AbortController();
  #stopped = false;

  constructor(opts: ChannelBridgeOptions) {
    this.#o = opts;
    const output = (frame: 'stdout' | 'stderr', write: (data: Buffer, done: () => void) => boolean) =>
      new ChannelOutput({
        masker: opts.masker(),
        flushMs: opts.maskFlushMs,
        record: (data) => opts.audit.data(opts.requestId, frame, data, opts.revision),
        write,
        onFull: () => this.#pause('client'),
        onError: (err) => opts.auditFailed(err),
      });
    this.#outputs = [
      output('stdout', (data, done) => opts.client.write(data, done)),
      output('stderr', (data, done) => opts.client.stderr.write(data, done)),
    ];
  }

  start(): void {
    const { client, upstream, audit, requestId, revision, log } = this.#o;
    const [stdout, stderr] = this.#outputs;
    upstream.on('data', (data: Buffer) => this.#output(stdout, data));
    upstream.stderr.on('data', (data: Buffer) => this.#output(stderr, data));
    upstream.on('error', (err: Error) =>
      log.warn({ err: err.message, request: requestId }, 'upstream channel error'),
    );
    let ended = 0;
    const onEnd = (): void => {
      if (++ended === 3) void this.#finish();
    };
    upstream.once('end', onEnd);
    upstream.stderr.once('end', onEnd);
    upstream.once('close', onEnd);
    upstream.on('drain', () => client.resume());
    client.on('drain', () => this.#resume('client'));
    client.stderr.on('drain', () => this.#resume('client'));
    client.on('data', (data: Buffer) => {
      this.#o.activity();
      try {
        audit.data(requestId, 'stdin', data, revision);
      } catch (err) {
        return this.#o.auditFailed(err);
      }
      if (!upstream.write(data)) client.pause();
    });
    client.on('end', () => upstream.end());
  }

  windowChange(info: WindowChangeInfo): void {
    this.#o.activity();
    try {
      this.#o.audit.note(
        this.#o.requestId,
        'window_change',
        { code: `${info.cols}x${info.rows}`, text: `${info.width}x${info.height}` },
        this.#o.revision,
      );
    } catch (err) {
      return this.#o.auditFailed(err);
    }
    this.#o.upstream.setWindow(info.rows, info.cols, info.height, info.width);
  }

  signal(name: string): void {
    this.#o.activity();
    try {
      this.#o.audit.note(this.#o.requestId, 'signal', { text: name }, this.#o.revision);
    } catch (err) {
      return this.#o.auditFailed(err);
    }
    try {
      this.#o.upstream.signal(name);
    } catch {
      this.#o.log.debug({ signal: name }, 'unknown signal not passed on');
    }
  }

  /** Drops pending output and closes the upstream channel; no exit status is sent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    for (const o of this.#outputs) o.discard();
    const up = this.#o.upstream;
    up.removeAllListeners('data');
    up.stderr.removeAllListeners('data');
    up.close();
  }

  #output(out: ChannelOutput, data: Buffer): void {
    this.#o.activity();
    out.push(data);
    const audit = this.#o.audit;
    if (audit.backlogged && !this.#paused.has('audit')) {
      this.#pause('audit');
      void audit.whenRoom(this.#abort.signal).then((ok) => {
        if (ok) this.#resume('audit');
        else if (!this.#stopped) this.#o.auditFailed(new Error('audit backlog did not drain'));
      });
    }
  }

  #pause(reason: string): void {
    this.#paused.add(reason);
    this.#o.upstream.pause();
    this.#o.upstream.stderr.pause();
  }

  #resume(reason: string): void {
    if (!this.#paused.delete(reason) || this.#paused.size > 0) return;
    this.#o.upstream.resume();
    this.#o.upstream.stderr.resume();
  }

  async #finish(): Promise<void> {
    if (this.#stopped) return;
    const [stdout, stderr] = this.#outputs;
    stdout.end();
    stderr.end();
    const bound = this.#o.flushTimeoutMs;
    await Promise.all([stdout.flushed(bound), stderr.flushed(bound)]);
    if (this.#stopped) return;
    this.#stopped = true;
    const { client, audit, requestId, revision } = this.#o;
    const exit = this.#o.exit();
    try {
      if (exit && 'code' in exit) {
        audit.note(requestId, 'exit_status', { code: String(exit.code) }, revision);
        client.exit(exit.code);
      } else if (exit) {
        const name = exit.signal.replace(/^SIG/, '');
        const text = `signal ${name}${exit.dump ? ' (core dumped)' : ''}${exit.desc ? `: ${exit.desc}` : ''}`;
        audit.note(requestId, 'exit_status', { text }, revision);
        client.exit(name, exit.dump, exit.desc);
      }
    } catch (err) {
      if (err instanceof AuditUnavailableError) return this.#o.auditFailed(err);
      this.#o.log.debug({ err: (err as Error).message }, 'could not pass the exit status on');
    }
    client.end();
    this.#o.onFinished();
  }
}
