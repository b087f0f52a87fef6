import { isIP } from 'node:net';
import { z } from 'zod';
import type { Frozen } from '../../shared/config/load-config.js';

/**
 * `listeners.postgres.proxyProtocol` / `listeners.ssh.proxyProtocol`: the listener sits behind a load balancer that
 * sends a PROXY protocol v2 header (HAProxy `send-proxy-v2`), so `input.session.client_addr` and the records name
 * the real client, not the balancer. Only the peers listed are trusted: a connection from one of them must start
 * with a valid header (else it is closed); a connection from any other peer is taken as a direct client and its
 * bytes go to the protocol unread, so a header it sends is never believed (PostgreSQL answers it 08P01).
 */
export const proxyProtocolSchema = z.strictObject({
  /** IP addresses of the balancers (IPv4 or IPv6, no ranges). */
  trustedProxies: z
    .array(z.string().refine((a) => isIP(a) !== 0, 'must be an IP address'))
    .min(1, 'name at least one balancer address'),
  /** Most time from accept to a complete header from a trusted peer. */
  headerTimeoutMs: z.number().int().min(1).default(5_000),
  /** Bound on the whole header, addresses and TLVs included (HAProxy's plain send-proxy-v2 sends 28 or 52). */
  maxHeaderBytes: z.number().int().min(52).max(65_551).default(1_024),
});

export type ProxyProtocolConfig = Frozen<z.output<typeof proxyProtocolSchema>>;

/** `::ffff:10.0.0.1` (a dual-stack socket's IPv4 peer) is `10.0.0.1`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
