import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'undici';
import { z } from 'zod';
import { PROJECT_ROOT, stackValue } from '../../test/support/stack.js';
import { httpOk, startChildService, waitReady } from './child-service.js';
import type { ChildService } from './child-service.js';

/**
 * OPA's own server (`opa run --server`) on the same policy as the gateway's bundle: the same Rego sources and
 * data.json, compiled by the same opa (policies/build.sh's options) as a plain Rego bundle with the same revision.
 * The wasm bundle cannot serve: its Rego is what remains after the entrypoint was compiled to policy.wasm, and the
 * stack's opa has no WebAssembly engine. OPA evaluates the Rego with its interpreter, as an OPA deployment would.
 */
export type OpaServer = ChildService & {
  readonly url: string;
  /** POST /v1/data/<entrypoint> over one keep-alive connection; `metrics` asks OPA for its own timers. */
  evaluate(input: unknown, metrics?: boolean): Promise<OpaAnswer>;
  close(): Promise<void>;
};

const answerSchema = z.object({
  result: z.unknown().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
});
export type OpaAnswer = z.infer<typeof answerSchema>;

/** `opa build` of `policies/<name>` (tests left out, the capabilities file enforced) into `out`, as Rego. */
export function buildRegoBundle(out: string, revision: string, name = 'gatehouse'): void {
  const policies = join(PROJECT_ROOT, 'policies');
  execFileSync(
    stackValue('OPA_BIN'),
    ['build', '--capabilities', join(policies, 'capabilities.json'), '--ignore', '*_test.rego'].concat([
      '--revision',
      revision,
      '-o',
      out,
      name,
    ]),
    { cwd: policies, stdio: 'pipe' },
  );
}

export async function startOpaServer(o: {
  revision: string;
  dir: string;
  port: number;
  entrypoint: string;
  readyTimeoutMs: number;
}): Promise<OpaServer> {
  const bundle = join(o.dir, 'opa-bundle.tar.gz');
  buildRegoBundle(bundle, o.revision);
  const url = `http://127.0.0.1:${o.port}`;
  const service = startChildService(
    'opa',
    stackValue('OPA_BIN'),
    ['run', '--server', '--addr', `127.0.0.1:${o.port}`, '--log-level', 'error', '--bundle', bundle],
    join(o.dir, 'opa.log'),
  );
  await waitReady(service, '/health?bundles', () => httpOk(`${url}/health?bundles`), o.readyTimeoutMs);
  const client = new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 });
  const path = `/v1/data/${o.entrypoint}`;
  const evaluate = async (input: unknown, metrics = false): Promise<OpaAnswer> => {
    const res = await client.request({
      method: 'POST',
      path: metrics ? `${path}?metrics=true` : path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`opa answered ${res.statusCode}: ${text}`);
    return answerSchema.parse(JSON.parse(text));
  };
  return Object.assign(service, { url, evaluate, close: () => client.close() });
}
