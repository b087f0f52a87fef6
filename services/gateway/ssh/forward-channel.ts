import type {
  AcceptConnection,
  Client,
  ClientChannel,
  RejectConnection,
  ServerChannel,
  TcpipRequestInfo,
} from 'ssh2';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { ChannelAudit } from './channel-audit.js';
import type { SshChannelTimeouts } from './session-channel.js';
import type { SshDecider } from './ssh-decider.js';

export type ForwardDeps = {
  upstream: Client;
  decide: SshDecider;
  audit: ChannelAudit;
  nextRequestId: () => number;
  log: Logger;
  activity: () => void;
  auditFailed: (err: unknown) => void;
  timeouts: SshChannelTimeouts;
};

/**
 * A local port forward (`ssh -L`, a `direct-tcpip` channel): decided by policy as
 * `{type: 'port_forward', direction: 'local', host, port}`; refused when denied, else opened from the upstream host
 * and bridged. Both directions are recorded (`stdin` client→target, `stdout` target→client), never masked (the
 * bytes are an arbitrary protocol). Returns a closer, or null when refused.
 */
export async function openLocalForward(
  d: ForwardDeps,
  info: TcpipRequestInfo,
  accept: AcceptConnection<ServerChannel>,
  reject: RejectConnection,
  signal: AbortSignal,
): Promise<(() => void) | null> {
  const requestId = d.nextRequestId();
  const verdict = await d.decide(
    { type: 'port_forward', direction: 'local', host: info.destIP, port: info.destPort },
    requestId,
    { notify: (line) => d.log.info({ request: requestId }, line), signal },
  );
  if (!verdict.allow || signal.aborted) {
    reject();
    return null;
  }
  const upstream = await new Promise<ClientChannel | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), d.timeouts.openMs);
    d.upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, ch) => {
      clearTimeout(timer);
      resolve(err ? undefined : ch);
    });
  });
  if (!upstream || signal.aborted) {
    upstream?.close();
    reject();
    return null;
  }
  const client = accept();
  const rev = verdict.revision;
  const close = (): void => {
    upstream.close();
    client.close();
  };
  const bridge = (
    from: ServerChannel | ClientChannel,
    to: ServerChannel | ClientChannel,
    frame: 'stdin' | 'stdout',
  ) => {
    from.on('data', (data: Buffer) => {
      d.activity();
      try {
        d.audit.data(requestId, frame, data, rev);
      } catch (err) {
        close();
        return d.auditFailed(err);
      }
      if (!to.write(data)) from.pause();
    });
    to.on('drain', () => from.resume());
    from.on('end', () => to.end());
    from.on('error', (err: Error) =>
      logError(d.log, err, 'forward channel error', { level: 'debug', request: requestId }),
    );
    from.on('close', close);
  };
  bridge(client, upstream, 'stdin');
  bridge(upstream, client, 'stdout');
  return close;
}
