import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { startDemoHttpServer } from '../../dev/demo-http/demo-server.js';
import type { RunningDemoHttp } from '../../dev/demo-http/demo-server.js';
import type { RunningApprovalService } from '../../services/approval/service.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { GatewayDeps, RunningGateway } from '../../services/gateway/gateway.js';
import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';
import { parseConfig } from '../../services/shared/config/load-config.js';
import { collectEvents } from './event-collector.js';
import type { EventCollector } from './event-collector.js';
import type { GatewayCallers } from './gateway-callers.js';
import { expectAbsent, gatewayCallers, rawEvents } from './gateway-callers.js';
import {
  buildPolicyBundle,
  fixtureApprovalsSection,
  fixtureKafkaSection,
  fixtureSessionsTopic,
  startFixtureApproval,
  startFixtureGateway,
} from './gateway.js';

/** A gateway node with only the HTTP proxy, in front of the real demo API, with approvals. */
export type HttpGatewayFixture = {
  idp: RunningIdp;
  approval: RunningApprovalService;
  gateway: RunningGateway;
  upstream: RunningDemoHttp;
  /** The gateway's credential for the upstream (never any client's token). */
  upstreamToken: string;
  sessionsTopic: string;
  logs: string[];
  /** `http://127.0.0.1:<port>/<connection>` */
  base(connection?: string): string;
  stop(): Promise<void>;
};

/**
 * Connections: `demo-http` (the demo API, bearer credential), `demo-http-down` (port 9: nothing listens) and
 * `demo-http-slow` (the demo API with 500 ms headers and body timeouts).
 */
export async function startHttpGatewayFixture(
  listener: Record<string, unknown> = {},
  deps: GatewayDeps = {},
): Promise<HttpGatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-http-'));
  const upstreamToken = `upstream-${randomUUID()}`;
  const tokenFile = join(dir, 'upstream-token');
  writeFileSync(tokenFile, `${upstreamToken}\n`, { mode: 0o600 });
  const upstream = await startDemoHttpServer({ token: upstreamToken });
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const sessionsTopic = fixtureSessionsTopic('http');
  const approval = await startFixtureApproval(sessionsTopic, idp);
  const auth = { type: 'bearer', token: { file: tokenFile } };
  const config = parseConfig(
    gatewayConfigSchema,
    {
      nodeId: 'test-http-node',
      health: { port: 0 },
      listeners: { http: { port: 0, allowPlaintext: true, ...listener } },
      oidc: { issuer: idp.issuer, audience: 'gatehouse', clockToleranceSeconds: 0 },
      kafka: fixtureKafkaSection(sessionsTopic),
      policy: { bundleDir: buildPolicyBundle() },
      approvals: fixtureApprovalsSection(approval),
      connections: [
        { name: 'demo-http', protocol: 'http', upstream: { url: upstream.url, auth }, tags: { env: 'demo' } },
        {
          name: 'demo-http-down',
          protocol: 'http',
          upstream: { url: 'http://127.0.0.1:9', auth }, // discard port: nothing listens
        },
        {
          name: 'demo-http-slow',
          protocol: 'http',
          upstream: { url: upstream.url, auth, headersTimeoutMs: 500, bodyTimeoutMs: 500 },
        },
      ],
    },
    'test HTTP gateway config',
  );
  const { gateway, logs } = await startFixtureGateway(config, deps);
  const origin = `http://127.0.0.1:${gateway.httpPort!}`;
  return {
    idp,
    approval,
    gateway,
    upstream,
    upstreamToken,
    sessionsTopic,
    logs,
    base: (connection = 'demo-http') => `${origin}/${connection}`,
    async stop() {
      await gateway.stop(2_000);
      await approval.stop();
      await idp.stop();
      await upstream.close();
    },
  };
}

const exec = promisify(execFile);

export type CurlResult = { status: number; headers: string; body: string; exitCode: number };

/**
 * The real `curl`: status, headers (lower-case, the last response's block), body, and curl's exit code (18 when
 * the body was cut short). Runs as a child process, so the gateway in this process keeps serving.
 */
export async function curl(args: string[], input?: Buffer): Promise<CurlResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-curl-'));
  const headerFile = join(tmp, 'headers');
  const p = exec('curl', ['-sS', '-D', headerFile, '-w', '\n%{http_code}', ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  p.child.stdin!.end(input ?? Buffer.alloc(0));
  let stdout: string;
  let exitCode = 0;
  try {
    stdout = (await p).stdout;
  } catch (err) {
    const failed = err as { stdout?: string; code?: number };
    if (typeof failed.code !== 'number') throw err;
    stdout = failed.stdout ?? '';
    exitCode = failed.code;
  }
  const i = stdout.lastIndexOf('\n');
  const blocks = readFileSync(headerFile, 'utf8')
    .trim()
    .split(/\r\n\r\n/);
  rmSync(tmp, { recursive: true, force: true });
  return {
    status: Number(stdout.slice(i + 1)),
    headers: blocks.at(-1)!.toLowerCase(),
    body: stdout.slice(0, i),
    exitCode,
  };
}

/** One test file's HTTP gateway, its sessions topic read from the start, and its callers. */
export type HttpGatewaySuite = GatewayCallers & {
  readonly fx: HttpGatewayFixture;
  readonly events: EventCollector;
};

/**
 * Starts the fixture and the event collector before the file's tests and stops them after; then checks that no
 * caller's token reached the audit log, the upstream or a log line, and that the gateway's upstream credential
 * reached no event and no log line.
 */
export function httpGatewaySuite(
  listener: Record<string, unknown> = {},
  deps: GatewayDeps = {},
): HttpGatewaySuite {
  let fx: HttpGatewayFixture | undefined;
  let events: EventCollector | undefined;
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the HTTP gateway fixture has not started');
    return v;
  };
  const callers = gatewayCallers(
    () => started(fx).idp,
    () => started(events),
  );
  beforeAll(async () => {
    fx = await startHttpGatewayFixture(listener, deps);
    events = collectEvents(fx.sessionsTopic);
  }, 120_000);
  afterAll(async () => {
    await events?.stop();
    await fx?.stop();
    if (!fx) return;
    expectAbsent(rawEvents(events), [...callers.tokens, fx.upstreamToken]);
    expectAbsent(JSON.stringify(fx.upstream.seen), callers.tokens);
    expectAbsent(fx.logs.join('\n'), [...callers.tokens, fx.upstreamToken]);
  });
  return {
    ...callers,
    get fx() {
      return started(fx);
    },
    get events() {
      return started(events);
    },
  };
}
