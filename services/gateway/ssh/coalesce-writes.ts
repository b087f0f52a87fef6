import type { Socket } from 'node:net';

/**
 * Makes the writes to `socket` within one tick leave as one `writev` (one system call, one wake-up of the peer):
 * ssh2 writes every SSH packet on its own, and a read from the upstream that holds several channel data packets
 * becomes as many packets to the client in the same tick. The first write of a tick corks the socket; the next
 * microtask-free point (`process.nextTick`) uncorks it. Nothing waits longer than the current tick, so interactive
 * output is not delayed.
 */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write.bind(socket);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: Parameters<Socket['write']>): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Socket['write'];
}
