import { hostname } from 'node:os';
import { z } from 'zod';
import type { TokenVerifierOptions } from '../identity/token-verifier.js';

/**
 * Configuration sections every service shares, declared once so they cannot drift. Each service's schema composes
 * them under the same keys (`logLevel`, `nodeId`/`instanceId`, `health`, `oidc`, `shutdown`); the defaults are here.
 */

/** pino level of the service's log. */
export const logLevelSchema = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** Names this process in logs, on the events it publishes and in its Kafka client id. Default: `<host>-<pid>`. */
export const nodeIdSchema = z.string().min(1).default(`${hostname()}-${process.pid}`);

/** `host` and `port` of a listener; port 0 picks a free port (tests). */
export const listenFields = (port: number) => ({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(port),
});

/** A plain listener with its default port. */
export const listenSchema = (port: number) => z.strictObject(listenFields(port));

/** `/healthz`, `/readyz` and `/metrics`, on their own port. */
export const healthSchema = (port: number) => listenSchema(port).prefault({});

const httpUrl = z.url({ protocol: /^https?$/ });

/** The OIDC issuer whose access tokens the service accepts, and how it reads their claims. */
export const oidcSchema = z.strictObject({
  issuer: httpUrl,
  audience: z.string().min(1),
  /** Default: from the issuer's discovery document. */
  jwksUri: httpUrl.optional(),
  /** Claim that marks an agent token (besides client-credentials tokens). */
  agentClaim: z.string().min(1).default('gatehouse_agent'),
  groupsClaim: z.string().min(1).default('groups'),
  /** Leeway for exp/nbf/iat checks between this node's clock and the issuer's. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
});

export type OidcConfig = Readonly<z.output<typeof oidcSchema>>;

/** The token verifier's options from an `oidc` section. */
export function tokenVerifierOptions(oidc: OidcConfig): TokenVerifierOptions {
  return {
    issuer: oidc.issuer,
    audience: oidc.audience,
    ...(oidc.jwksUri ? { jwksUri: oidc.jwksUri } : {}),
    agentClaim: oidc.agentClaim,
    groupsClaim: oidc.groupsClaim,
    clockToleranceSeconds: oidc.clockToleranceSeconds,
  };
}

/**
 * SIGTERM/SIGINT: in-flight work gets `drainTimeoutMs` to finish (then it is cut off, the audit log flushed and
 * offsets committed); the process exits 1 if the whole shutdown takes longer than `exitTimeoutMs`.
 */
export const shutdownSchema = (drainTimeoutMs: number) =>
  z
    .strictObject({
      drainTimeoutMs: z.number().int().min(0).default(drainTimeoutMs),
      exitTimeoutMs: z.number().int().min(1000).default(30_000),
    })
    .refine((s) => s.drainTimeoutMs < s.exitTimeoutMs, {
      message: 'drainTimeoutMs must be below exitTimeoutMs',
      path: ['drainTimeoutMs'],
    })
    .prefault({});

export type ShutdownConfig = { readonly drainTimeoutMs: number; readonly exitTimeoutMs: number };
