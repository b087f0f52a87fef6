import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp } from '../../dev/idp/start-idp.js';
import { requestToken } from '../../dev/idp/request-token.js';
import { runIdp } from '../../dev/idp/main.js';
import { IdpTokenRequestError, IdpUsageError } from '../../dev/idp/errors.js';
import { createTokenVerifier } from '../../services/shared/identity/token-verifier.js';
import { AUDIENCE, everythingIn, startIdentityFixture } from '../support/identity.js';
import type { IdentityFixture } from '../support/identity.js';

let fx: IdentityFixture;
beforeAll(async () => {
  fx = await startIdentityFixture();
});
afterAll(() => fx.stop());

describe('dev IdP tokens', () => {
  it('issues a real RS256 JWT access token for a human, verified into an identity', async () => {
    const token = await fx.idp.issueToken({
      user: 'alice',
      groups: ['dba', 'oncall'],
      email: 'alice@example.test',
    });
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: fx.signingKey.kid });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: fx.idp.issuer,
      aud: AUDIENCE,
      sub: 'alice',
      client_id: 'gatehouse-dev',
      groups: ['dba', 'oncall'],
      email: 'alice@example.test',
      gatehouse_agent: false,
    });
    expect(claims.exp! - claims.iat!).toBe(3600);

    const identity = await fx.verifier.verify(token);
    expect(identity).toEqual({
      sub: 'alice',
      email: 'alice@example.test',
      groups: ['dba', 'oncall'],
      agent: false,
      issuer: fx.idp.issuer,
      client_id: 'gatehouse-dev',
    });
  });

  it('issues an agent token through the client_credentials grant (sub = client id)', async () => {
    const token = await fx.idp.issueAgentToken();
    expect(decodeJwt(token)).toMatchObject({
      sub: 'gatehouse-agent',
      client_id: 'gatehouse-agent',
      gatehouse_agent: true,
    });
    expect(await fx.verifier.verify(token)).toEqual({
      sub: 'gatehouse-agent',
      email: '',
      groups: ['agents'],
      agent: true,
      issuer: fx.idp.issuer,
      client_id: 'gatehouse-agent',
    });
  });

  it('recognises an agent from sub = client_id alone, without the agent claim', async () => {
    const token = await fx.forge(fx.validClaims({ sub: 'ci-bot', client_id: 'ci-bot' }));
    expect((await fx.verifier.verify(token)).agent).toBe(true);
    const custom = createTokenVerifier({ issuer: fx.idp.issuer, audience: AUDIENCE, agentClaim: 'x_agent' });
    const agentToken = await fx.idp.issueAgentToken();
    expect((await custom.verify(agentToken)).agent).toBe(true);
  });

  it('marks a named dev-user token as an agent when asked', async () => {
    const token = await fx.idp.issueToken({ user: 'claude-1', agent: true, groups: ['agents'] });
    expect(await fx.verifier.verify(token)).toMatchObject({
      sub: 'claude-1',
      agent: true,
      groups: ['agents'],
      email: '',
    });
  });

  it('requestToken talks to the token endpoint over HTTP and maps OAuth errors', async () => {
    const res = await requestToken(fx.idp.issuer, { user: 'bob', groups: ['eng'], ttlSeconds: 120 });
    expect(res.tokenType).toBe('Bearer');
    expect(res.expiresIn).toBe(120);
    expect((await fx.verifier.verify(res.accessToken)).groups).toEqual(['eng']);

    const badSecret = await requestToken(fx.idp.issuer, { clientSecret: 'wrong-secret-value' }).catch(
      (e: unknown) => e,
    );
    expect(badSecret).toBeInstanceOf(IdpTokenRequestError);
    expect((badSecret as IdpTokenRequestError).oauthError).toBe('invalid_client');
    expect(everythingIn(badSecret)).not.toContain('wrong-secret-value');

    const badUser = await requestToken(fx.idp.issuer, { user: 'no spaces allowed' }).catch((e: unknown) => e);
    expect((badUser as IdpTokenRequestError).oauthError).toBe('invalid_request');

    // The agent client may not use the dev-user grant.
    const wrongGrant = await requestToken(fx.idp.issuer, {
      user: 'eve',
      clientId: 'gatehouse-agent',
      clientSecret: 'gatehouse-agent-secret',
    }).catch((e: unknown) => e);
    expect((wrongGrant as IdpTokenRequestError).oauthError).toMatch(/invalid_request|unauthorized_client/);

    await expect(requestToken(fx.idp.issuer, { groups: ['x'] })).rejects.toBeInstanceOf(IdpUsageError);
  });

  it('serves under an issuer path, and verifies with an explicit jwksUri (no discovery)', async () => {
    const pathIdp = await startIdp({ audience: AUDIENCE, issuerPath: '/oidc' });
    fx.cleanups.push(() => pathIdp.stop());
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
    const file = join(fx.dir, 'restart', 'jwks.json');
    const first = await startIdp({ audience: AUDIENCE, jwksFile: file });
    const token = await first.issueToken({ user: 'dave' });
    await first.stop();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await startIdp({ audience: AUDIENCE, jwksFile: file });
    fx.cleanups.push(() => second.stop());
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
