import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPublicKey, randomUUID } from 'node:crypto';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
} from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp } from '../../dev/idp/start-idp.js';
import type { RunningIdp } from '../../dev/idp/start-idp.js';
import { requestToken } from '../../dev/idp/request-token.js';
import { runIdp } from '../../dev/idp/main.js';
import { IdpTokenRequestError, IdpUsageError } from '../../dev/idp/errors.js';
import type { PrivateJwks } from '../../dev/idp/keys.js';
import { createTokenVerifier } from '../../services/shared/identity/token-verifier.js';
import type { TokenVerifier } from '../../services/shared/identity/token-verifier.js';
import { TokenError } from '../../services/shared/identity/errors.js';

// Everything here runs in process against a real oidc-provider on 127.0.0.1 (port 0); no stack services needed.

const AUDIENCE = 'gatehouse';
const cleanups: (() => Promise<unknown>)[] = [];
let dir: string;
let idp: RunningIdp;
let verifier: TokenVerifier;
let signingKey: JWK;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-identity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  idp = await startIdp({ audience: AUDIENCE, jwksFile: join(dir, 'idp-jwks.json') });
  cleanups.push(() => idp.stop());
  verifier = createTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE });
  // The test holds the IdP's private key (from its jwksFile) to forge correctly signed tokens with bad claims.
  const jwks = JSON.parse(await readFile(join(dir, 'idp-jwks.json'), 'utf8')) as PrivateJwks;
  signingKey = jwks.keys[0]!;
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

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
function everythingIn(err: unknown): string {
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

async function expectRejected(
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

async function forge(
  claims: JWTPayload,
  key: JWK = signingKey,
  header: Record<string, unknown> = {},
): Promise<string> {
  const privateKey = await importJWK(key, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt', ...header })
    .sign(privateKey);
}

function validClaims(extra: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const jti = `canary-${randomUUID()}`;
  return { iss: idp.issuer, aud: AUDIENCE, sub: 'mallory', iat: now, exp: now + 300, jti, ...extra };
}

function unsigned(header: Record<string, unknown>, claims: JWTPayload, signature = ''): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(claims)}.${signature}`;
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never answers. */
async function blackHole(): Promise<{ url: string; server: Server }> {
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
}

describe('dev IdP tokens', () => {
  it('issues a real RS256 JWT access token for a human, verified into an identity', async () => {
    const token = await idp.issueToken({
      user: 'alice',
      groups: ['dba', 'oncall'],
      email: 'alice@example.test',
    });
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: signingKey.kid });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'alice',
      client_id: 'gatehouse-dev',
      groups: ['dba', 'oncall'],
      email: 'alice@example.test',
      gatehouse_agent: false,
    });
    expect(claims.exp! - claims.iat!).toBe(3600);

    const identity = await verifier.verify(token);
    expect(identity).toEqual({
      sub: 'alice',
      email: 'alice@example.test',
      groups: ['dba', 'oncall'],
      agent: false,
      issuer: idp.issuer,
      client_id: 'gatehouse-dev',
    });
  });

  it('issues an agent token through the client_credentials grant (sub = client id)', async () => {
    const token = await idp.issueAgentToken();
    expect(decodeJwt(token)).toMatchObject({
      sub: 'gatehouse-agent',
      client_id: 'gatehouse-agent',
      gatehouse_agent: true,
    });
    expect(await verifier.verify(token)).toEqual({
      sub: 'gatehouse-agent',
      email: '',
      groups: ['agents'],
      agent: true,
      issuer: idp.issuer,
      client_id: 'gatehouse-agent',
    });
  });

  it('recognises an agent from sub = client_id alone, without the agent claim', async () => {
    const token = await forge(validClaims({ sub: 'ci-bot', client_id: 'ci-bot' }));
    expect((await verifier.verify(token)).agent).toBe(true);
    const custom = createTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, agentClaim: 'x_agent' });
    const agentToken = await idp.issueAgentToken();
    expect((await custom.verify(agentToken)).agent).toBe(true);
  });

  it('marks a named dev-user token as an agent when asked', async () => {
    const token = await idp.issueToken({ user: 'claude-1', agent: true, groups: ['agents'] });
    expect(await verifier.verify(token)).toMatchObject({
      sub: 'claude-1',
      agent: true,
      groups: ['agents'],
      email: '',
    });
  });

  it('requestToken talks to the token endpoint over HTTP and maps OAuth errors', async () => {
    const res = await requestToken(idp.issuer, { user: 'bob', groups: ['eng'], ttlSeconds: 120 });
    expect(res.tokenType).toBe('Bearer');
    expect(res.expiresIn).toBe(120);
    expect((await verifier.verify(res.accessToken)).groups).toEqual(['eng']);

    const badSecret = await requestToken(idp.issuer, { clientSecret: 'wrong-secret-value' }).catch(
      (e: unknown) => e,
    );
    expect(badSecret).toBeInstanceOf(IdpTokenRequestError);
    expect((badSecret as IdpTokenRequestError).oauthError).toBe('invalid_client');
    expect(everythingIn(badSecret)).not.toContain('wrong-secret-value');

    const badUser = await requestToken(idp.issuer, { user: 'no spaces allowed' }).catch((e: unknown) => e);
    expect((badUser as IdpTokenRequestError).oauthError).toBe('invalid_request');

    // The agent client may not use the dev-user grant.
    const wrongGrant = await requestToken(idp.issuer, {
      user: 'eve',
      clientId: 'gatehouse-agent',
      clientSecret: 'gatehouse-agent-secret',
    }).catch((e: unknown) => e);
    expect((wrongGrant as IdpTokenRequestError).oauthError).toMatch(/invalid_request|unauthorized_client/);

    await expect(requestToken(idp.issuer, { groups: ['x'] })).rejects.toBeInstanceOf(IdpUsageError);
  });

  it('serves under an issuer path, and verifies with an explicit jwksUri (no discovery)', async () => {
    const pathIdp = await startIdp({ audience: AUDIENCE, issuerPath: '/oidc' });
    cleanups.push(() => pathIdp.stop());
    expect(pathIdp.issuer).toMatch(/\/oidc$/);
    const token = await pathIdp.issueToken({ user: 'carol' });
    const discovered = createTokenVerifier({ issuer: pathIdp.issuer, audience: AUDIENCE });
    expect((await discovered.verify(token)).sub).toBe('carol');
    const explicit = createTokenVerifier({
      issuer: pathIdp.issuer,
      audience: AUDIENCE,
      jwksUri: pathIdp.jwksUri,
    });
    await explicit.warmUp();
    expect((await explicit.verify(token)).issuer).toBe(pathIdp.issuer);
  });

  it('keeps its signing key across restarts when given a jwksFile (mode 0600)', async () => {
    const file = join(dir, 'restart', 'jwks.json');
    const first = await startIdp({ audience: AUDIENCE, jwksFile: file });
    const token = await first.issueToken({ user: 'dave' });
    await first.stop();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await startIdp({ audience: AUDIENCE, jwksFile: file });
    cleanups.push(() => second.stop());
    const v = createTokenVerifier({ issuer: first.issuer, audience: AUDIENCE, jwksUri: second.jwksUri });
    expect((await v.verify(token)).sub).toBe('dave');
  });

  it('runIdp starts a standalone IdP, prints the issuer and stops on abort', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stderr.resume();
    const ac = new AbortController();
    const exit = runIdp(['--port', '0', '--audience', AUDIENCE], {
      env: {},
      stdout,
      stderr,
      signal: ac.signal,
    });
    const issuer = await new Promise<string>((resolve) => {
      stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    });
    expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { accessToken } = await requestToken(issuer, { user: 'erin', groups: ['a', 'b'] });
    const v = createTokenVerifier({ issuer, audience: AUDIENCE });
    expect((await v.verify(accessToken)).groups).toEqual(['a', 'b']);
    ac.abort();
    expect(await exit).toBe(0);
    expect(await runIdp(['--bogus'], { env: {}, stdout, stderr })).toBe(2);
  });
});

describe('token rejection', () => {
  it('rejects an expired token with GH_ERR_TOKEN_EXPIRED (and honours clock tolerance)', async () => {
    const token = await idp.issueToken({ user: 'alice', ttlSeconds: 1 });
    const { exp } = decodeJwt(token);
    await sleep(Math.max(0, exp! * 1000 - Date.now()) + 50);
    const strict = createTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, clockToleranceSeconds: 0 });
    await expectRejected(strict, token, 'GH_ERR_TOKEN_EXPIRED', /expired/);
    expect((await verifier.verify(token)).sub).toBe('alice'); // default tolerance: 30 s
  });

  it('rejects a token for another audience with GH_ERR_TOKEN_AUDIENCE', async () => {
    const token = await idp.issueToken({ user: 'alice' });
    const other = createTokenVerifier({ issuer: idp.issuer, audience: 'billing-api' });
    await expectRejected(other, token, 'GH_ERR_TOKEN_AUDIENCE');
    const either = createTokenVerifier({ issuer: idp.issuer, audience: ['billing-api', AUDIENCE] });
    expect((await either.verify(token)).sub).toBe('alice');
  });

  it('rejects a token from an untrusted issuer', async () => {
    const token = await idp.issueToken({ user: 'alice' });
    const v = createTokenVerifier({
      issuer: 'https://idp.example.test',
      audience: AUDIENCE,
      jwksUri: idp.jwksUri,
    });
    await expectRejected(v, token, 'GH_ERR_TOKEN_INVALID', /issuer/);
  });

  it('rejects a tampered signature and a tampered payload', async () => {
    const token = await idp.issueToken({ user: 'alice', groups: ['eng'] });
    const [h, p, s] = token.split('.') as [string, string, string];
    const mid = Math.floor(s.length / 2);
    const flipped = `${h}.${p}.${s.slice(0, mid)}${s[mid] === 'A' ? 'B' : 'A'}${s.slice(mid + 1)}`;
    await expectRejected(verifier, flipped, 'GH_ERR_TOKEN_INVALID', /signature/);
    const claims = { ...decodeJwt(token), groups: ['eng', 'admin'] };
    await expectRejected(
      verifier,
      `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`,
      'GH_ERR_TOKEN_INVALID',
    );
  });

  it('rejects alg "none"', async () => {
    const claims = validClaims();
    await expectRejected(
      verifier,
      unsigned({ alg: 'none', typ: 'JWT' }, claims),
      'GH_ERR_TOKEN_INVALID',
      /algorithm/,
    );
    await expectRejected(
      verifier,
      unsigned({ alg: 'none', kid: signingKey.kid }, claims, 'c2ln'),
      'GH_ERR_TOKEN_INVALID',
      /algorithm/,
    );
  });

  it('rejects HS256 signed with the public key (key confusion), and refuses to be configured for HS256', async () => {
    const { keys } = (await (await fetch(idp.jwksUri)).json()) as { keys: JWK[] };
    const publicJwk = keys[0]!;
    const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [String(pem), JSON.stringify(publicJwk), publicJwk.n!]) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid })
        .sign(new TextEncoder().encode(secret));
      await expectRejected(verifier, token, 'GH_ERR_TOKEN_INVALID', /algorithm/);
    }
    expect(() =>
      createTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, algorithms: ['HS256'] as never }),
    ).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG' }));
    expect(() =>
      createTokenVerifier({ issuer: idp.issuer, audience: AUDIENCE, algorithms: ['none'] as never }),
    ).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG' }));
  });

  it('rejects tokens signed by a different key: unknown kid, reused kid, and another IdP', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const rogue = { ...(await exportJWK(privateKey)), kid: 'rogue-key' };
    await expectRejected(verifier, await forge(validClaims(), rogue), 'GH_ERR_TOKEN_INVALID', /key/);
    const impostor = { ...rogue, kid: signingKey.kid };
    await expectRejected(verifier, await forge(validClaims(), impostor), 'GH_ERR_TOKEN_INVALID', /signature/);

    const otherIdp = await startIdp({ audience: AUDIENCE });
    cleanups.push(() => otherIdp.stop());
    await expectRejected(verifier, await otherIdp.issueToken({ user: 'alice' }), 'GH_ERR_TOKEN_INVALID');
  });

  it('rejects correctly signed tokens with missing or premature claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { exp: _exp, ...noExp } = validClaims();
    await expectRejected(verifier, await forge(noExp), 'GH_ERR_TOKEN_INVALID', /"exp"/);
    const { sub: _sub, ...noSub } = validClaims();
    await expectRejected(verifier, await forge(noSub), 'GH_ERR_TOKEN_INVALID', /"sub"/);
    await expectRejected(
      verifier,
      await forge(validClaims({ nbf: now + 600 })),
      'GH_ERR_TOKEN_INVALID',
      /not valid yet/,
    );
    await expectRejected(
      verifier,
      await forge(validClaims({ groups: [1] })),
      'GH_ERR_TOKEN_INVALID',
      /groups/,
    );
    // Sanity check: the forging key is the IdP's, so a well-formed forged token passes.
    expect((await verifier.verify(await forge(validClaims()))).sub).toBe('mallory');
  });

  it('rejects opaque, encrypted, empty and oversized tokens before any network access', async () => {
    const offline = createTokenVerifier({
      issuer: `http://127.0.0.1:${await closedPort()}`,
      audience: AUDIENCE,
    });
    await expectRejected(
      offline,
      'Q2hJZ0VnZ0FCQUFBQQ-opaque_token_value',
      'GH_ERR_TOKEN_INVALID',
      /JWT access tokens are required/,
    );
    await expectRejected(
      offline,
      'aaaaaaaaaa.bbbbbbbbbb.cccccccccc.dddddddddd.eeeeeeeeee',
      'GH_ERR_TOKEN_INVALID',
      /JWE/,
    );
    await expectRejected(offline, '', 'GH_ERR_TOKEN_INVALID', /missing/);
    await expectRejected(offline, `${'a'.repeat(20_000)}.b.c`, 'GH_ERR_TOKEN_INVALID', /too large/);
    await expectRejected(
      offline,
      unsigned({ alg: 'none' }, validClaims()),
      'GH_ERR_TOKEN_INVALID',
      /algorithm/,
    );
  });
});

describe('JWKS unavailable', () => {
  it('fails closed with GH_ERR_JWKS_UNAVAILABLE when discovery or the JWKS cannot be reached', async () => {
    const token = await idp.issueToken({ user: 'alice' });
    const port = await closedPort();
    const noDiscovery = createTokenVerifier({ issuer: `http://127.0.0.1:${port}`, audience: AUDIENCE });
    await expectRejected(noDiscovery, token, 'GH_ERR_JWKS_UNAVAILABLE');
    await expect(noDiscovery.warmUp()).rejects.toMatchObject({ code: 'GH_ERR_JWKS_UNAVAILABLE' });

    const noJwks = createTokenVerifier({
      issuer: idp.issuer,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${port}/jwks`,
    });
    await expectRejected(noJwks, token, 'GH_ERR_JWKS_UNAVAILABLE');

    const notJwks = createTokenVerifier({
      issuer: idp.issuer,
      audience: AUDIENCE,
      jwksUri: `${idp.issuer}/nope`,
    });
    await expectRejected(notJwks, token, 'GH_ERR_JWKS_UNAVAILABLE');
  });

  it('times out on a provider that never answers', async () => {
    const token = await idp.issueToken({ user: 'alice' });
    const { url } = await blackHole();
    const hung = createTokenVerifier({ issuer: url, audience: AUDIENCE, httpTimeoutMs: 300 });
    const started = Date.now();
    await expectRejected(hung, token, 'GH_ERR_JWKS_UNAVAILABLE');
    const hungJwks = createTokenVerifier({
      issuer: idp.issuer,
      audience: AUDIENCE,
      jwksUri: url,
      httpTimeoutMs: 300,
    });
    await expectRejected(hungJwks, token, 'GH_ERR_JWKS_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('recovers once the provider is reachable again (a failed discovery is not cached)', async () => {
    const port = await closedPort();
    const v = createTokenVerifier({ issuer: `http://127.0.0.1:${port}`, audience: AUDIENCE });
    await expectRejected(v, await idp.issueToken({ user: 'alice' }), 'GH_ERR_JWKS_UNAVAILABLE');
    const late = await startIdp({ audience: AUDIENCE, port });
    cleanups.push(() => late.stop());
    expect((await v.verify(await late.issueToken({ user: 'frank' }))).sub).toBe('frank');
  });
});
