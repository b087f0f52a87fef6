import type { Socket } from 'node:net';
import type { ProxyAddress, ProxyHeader } from './proxy-v2.js';
import { parseProxyV2 } from './proxy-v2.js';
import type { ProxyProtocolConfig } from './proxy-config.js';
import { plainAddress } from './proxy-config.js';

/** Why a trusted peer's connection was closed before its protocol began. */
export class ProxyHeaderError extends Error {}

/**
 * The client behind a connection: for a peer in `trustedProxies`, the source address of the PROXY v2 header it
 * must send first (read here, bounded in time and size; the bytes after it are put back); for any other peer, the
 * peer itself (nothing read). `null` config: the peer. The socket is left paused when a header was read: the caller
 * attaches its protocol's listeners, then calls `socket.resume()`.
 */
export async function clientBehind(
  socket: Socket,
  config: ProxyProtocolConfig | undefined,
): Promise<{ address: ProxyAddress; proxied: boolean }> {
  const peer = { address: plainAddress(socket.remoteAddress ?? '?'), port: socket.remotePort ?? 0 };
  if (!config || !config.trustedProxies.some((p) => plainAddress(p) === peer.address))
    return { address: peer, proxied: false };
  const header = await readHeader(socket, config);
  return header.command === 'proxy'
    ? { address: { address: plainAddress(header.source.address), port: header.source.port }, proxied: true }
    : { address: peer, proxied: true }; // LOCAL: the balancer's own connection (a health check)
}

function readHeader(socket: Socket, config: ProxyProtocolConfig): Promise<ProxyHeader> {
  return new Promise<ProxyHeader>((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new ProxyHeaderError(`no PROXY protocol header within ${config.headerTimeoutMs} ms`)),
      config.headerTimeoutMs,
    );
    const onClose = (): void => finish(new ProxyHeaderError('closed before its PROXY protocol header'));
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = parseProxyV2(buf, config.maxHeaderBytes);
      if (r.kind === 'incomplete') return;
      socket.pause();
      if (r.kind === 'invalid') return finish(new ProxyHeaderError(r.reason));
      const rest = buf.subarray(r.header.bytes);
      if (rest.length > 0) socket.unshift(rest);
      finish(null, r.header);
    };
    function finish(err: Error | null, header?: ProxyHeader): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err || !header) reject(err ?? new ProxyHeaderError('no header'));
      else resolve(header);
    }
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
