import type { ClientChannel } from 'ssh2';

/** How an upstream command ended: its exit status, or the signal that killed it. */
export type UpstreamExit = { code: number } | { signal: string; dump: boolean; desc: string };

/**
 * Starts recording how an upstream channel's command ends; returns a reader for it. Call it synchronously in the
 * callback that delivers the channel: ssh2 emits `exit` as soon as it parses the exit-status request, which can be
 * in the same read as the exec reply and the command's whole output (a short command while the event loop was
 * busy). A listener added after an `await` misses it, and the client then gets no exit status (OpenSSH: 255).
 */
export function watchExit(channel: ClientChannel): () => UpstreamExit | undefined {
  let exit: UpstreamExit | undefined;
  channel.once('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
    exit = code !== null ? { code } : { signal: signal ?? 'SIGKILL', dump: dump === true, desc: desc ?? '' };
  });
  return () => exit;
}
