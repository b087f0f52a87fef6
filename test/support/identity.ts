import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { base64url, decodeJwt, importJWK, SignJWT } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { expect } from 'vitest';
import { startIdp } from '../../dev/idp/start-idp.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import type { PrivateJwks } from '../../dev/idp/keys.js';
import { createTokenVerifier } from '../../services/shared/identity/token-verifier.js';
import type { TokenVerifier } from '../../services/shared/identity/token-verifier.js';
import { TokenError } from '../../services/shared/identity/errors.js';

// The identity tests run in process against a real oidc-provider on 127.0.0.1 (port 0); no stack services needed.

export const AUDIENCE = 'gatehouse';

export type IdentityFixture = {
  /** A temporary directory, removed by stop(). */
  dir: string;
  idp: RunningIdp;
  verifier: TokenVerifier;
  /** The IdP's private signing key (from its jwksFile), to forge correctly signed tokens with bad claims. */
  signingKey: JWK;
  /** Run in reverse order by stop(). */
  cleanups: (() => Promise<unknown>)[];
  /** Signs `claims` with RS256 (by default with the IdP's own key). */
  forge(claims: JWTPayload, key?: JWK, header?: Record<string, unknown>): Promise<string>;
  /** Claims the verifier accepts (issuer, audience, a 5-minute lifetime, a unique `jti` canary), plus `extra`. */
  validClaims(extra?: JWTPayload): JWTPayload;
  /** A TCP server on 127.0.0.1 that accepts connections and never answers; closed by stop(). */
  blackHole(): Promise<{ url: string; server: Server }>;
  stop(): Promise<void>;
};

/** Starts a dev IdP with a key file in a temporary directory and a verifier for it. */
export async function startIdentityFixture(): Promise<IdentityFixture> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-identity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const idp = await startIdp({ audience: AUDIENCE, jwksFile: join(dir, 'idp-jwks.json') });
  cleanups.push(() => idp.stop());
  const verifier = createTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE });
  const jwks = JSON.parse(await readFile(join(dir, 'idp-jwks.json'), 'utf8')) as PrivateJwks;
  const signingKey = jwks.keys[0]!;
  return {
    dir,
    idp,
    verifier,
    signingKey,
    cleanups,
    forge: async (claims, key = signingKey, header = {}) => {
      const privateKey = await importJWK(key, 'RS256');
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt', ...header })
        .sign(privateKey);
    },
    validClaims: (extra = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const jti = `canary-${randomUUID()}`;
      return { iss: idp.issuer, aud: AUDIENCE, sub: 'mallory', iat: now, exp: now + 300, jti, ...extra };
    },
    blackHole: async () => {
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => resolve());
          }),
      );
      return { url: `http://127.0.0.1:${port}`, server };
    },
    stop: async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    },
  };
}

/** Strings that would leak the token: the token, each segment, and its `jti` (a unique canary in the payload). */
function tokenFragments(token: string): string[] {
  let jti: unknown;
  try {
    jti = decodeJwt(token).jti;
  } catch {
    jti = undefined;
  }
  return [token, ...token.split('.'), typeof jti === 'string' ? jti : ''].filter((s) => s.length >= 8);
}

/** Collects the messages, names and enumerable fields of an error and its cause chain, as one string. */
export function everythingIn(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e instanceof Error) parts.push(e.name, e.message, String(e.stack));
    if (typeof e === 'object')
      parts.push(JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? 0 : v)));
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

/** Expects `v` to reject `token` with a TokenError of `code` whose message, fields and causes never leak it. */
export async function expectRejected(
  v: TokenVerifier,
  token: string,
  code: string,
  message?: RegExp,
): Promise<TokenError> {
  const err = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'verify() must reject').toBeInstanceOf(TokenError);
  const tokenError = err as TokenError;
  expect(tokenError.code).toBe(code);
  if (message) expect(tokenError.message).toMatch(message);
  const dump = everythingIn(tokenError);
  for (const fragment of tokenFragments(token))
    expect(dump.includes(fragment), 'error leaks the token').toBe(false);
  return tokenError;
}

/** A JWT with the given header and claims and a literal (by default empty) signature. */
export function unsigned(header: Record<string, unknown>, claims: JWTPayload, signature = ''): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(claims)}.${signature}`;
}

/** A port on 127.0.0.1 where nothing listens. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
