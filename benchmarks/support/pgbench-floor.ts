import { join } from 'node:path';
import { PROJECT_ROOT } from '../../test/support/stack.js';
import { portOpen, startChildService, waitReady } from './child-service.js';
import type { ChildService } from './child-service.js';

/** The Node TLS relay of `pgbench-floor-relay.ts`, as a process of its own. */
export type NodeFloor = ChildService & { readonly port: number };

export async function startNodeFloor(o: {
  dir: string;
  port: number;
  upstream: { host: string; port: number };
  /** The gateway's certificate and key. */
  tls: { cert: string; key: string };
  readyTimeoutMs: number;
}): Promise<NodeFloor> {
  const relay = join(PROJECT_ROOT, 'benchmarks', 'support', 'pgbench-floor-relay.ts');
  const args = ['--import', 'tsx', relay, String(o.port), o.upstream.host, String(o.upstream.port)];
  const service = startChildService(
    'node-floor',
    process.execPath,
    [...args, o.tls.cert, o.tls.key],
    join(o.dir, 'node-floor.log'),
  );
  await waitReady(service, `a listener on port ${o.port}`, () => portOpen(o.port), o.readyTimeoutMs);
  return Object.assign(service, { port: o.port });
}
