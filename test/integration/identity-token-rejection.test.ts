import { setTimeout as sleep } from 'node:timers/promises';
import { createPublicKey } from 'node:crypto';
import { base64url, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp } from '../../dev/idp/start-idp.js';
import { createTokenVerifier } from '../../services/shared/identity/token-verifier.js';
import { AUDIENCE, closedPort, expectRejected, startIdentityFixture, unsigned } from '../support/identity.js';
import type { IdentityFixture } from '../support/identity.js';

let fx: IdentityFixture;
beforeAll(async () => {
  fx = await startIdentityFixture();
});
afterAll(() => fx.stop());

describe('token rejection', () => {
  it('rejects an expired token with GH_ERR_TOKEN_EXPIRED (and honours clock tolerance)', async () => {
    const token = await fx.idp.issueToken({ user: 'alice', ttlSeconds: 1 });
    const { exp } = decodeJwt(token);
    await sleep(Math.max(0, exp! * 1000 - Date.now()) + 50);
    const strict = createTokenVerifier({
      issuer: fx.idp.issuer,
      audience: AUDIENCE,
      clockToleranceSeconds: 0,
    });
    await expectRejected(strict, token, 'GH_ERR_TOKEN_EXPIRED', /expired/);
    expect((await fx.verifier.verify(token)).sub).toBe('alice'); // default tolerance: 30 s
  });

  it('rejects a token for another audience with GH_ERR_TOKEN_AUDIENCE', async () => {
    const token = await fx.idp.issueToken({ user: 'alice' });
    const other = createTokenVerifier({ issuer: fx.idp.issuer, audience: 'billing-api' });
    await expectRejected(other, token, 'GH_ERR_TOKEN_AUDIENCE');
    const either = createTokenVerifier({ issuer: fx.idp.issuer, audience: ['billing-api', AUDIENCE] });
    expect((await either.verify(token)).sub).toBe('alice');
  });

  it('rejects a token from an untrusted issuer', async () => {
    const token = await fx.idp.issueToken({ user: 'alice' });
    const v = createTokenVerifier({
      issuer: 'https://idp.example.test',
      audience: AUDIENCE,
      jwksUri: fx.idp.jwksUri,
    });
    await expectRejected(v, token, 'GH_ERR_TOKEN_INVALID', /issuer/);
  });

  it('rejects a tampered signature and a tampered payload', async () => {
    const token = await fx.idp.issueToken({ user: 'alice', groups: ['eng'] });
    const [h, p, s] = token.split('.') as [string, string, string];
    const mid = Math.floor(s.length / 2);
    const flipped = `${h}.${p}.${s.slice(0, mid)}${s[mid] === 'A' ? 'B' : 'A'}${s.slice(mid + 1)}`;
    await expectRejected(fx.verifier, flipped, 'GH_ERR_TOKEN_INVALID', /signature/);
    const claims = { ...decodeJwt(token), groups: ['eng', 'admin'] };
    await expectRejected(
      fx.verifier,
      `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`,
      'GH_ERR_TOKEN_INVALID',
    );
  });

  it('rejects alg "none"', async () => {
    const claims = fx.validClaims();
    await expectRejected(
      fx.verifier,
      unsigned({ alg: 'none', typ: 'JWT' }, claims),
      'GH_ERR_TOKEN_INVALID',
      /algorithm/,
    );
    await expectRejected(
      fx.verifier,
      unsigned({ alg: 'none', kid: fx.signingKey.kid }, claims, 'c2ln'),
      'GH_ERR_TOKEN_INVALID',
      /algorithm/,
    );
  });

  it('rejects HS256 signed with the public key (key confusion), and refuses to be configured for HS256', async () => {
    const { keys } = (await (await fetch(fx.idp.jwksUri)).json()) as { keys: JWK[] };
    const publicJwk = keys[0]!;
    const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [String(pem), JSON.stringify(publicJwk), publicJwk.n!]) {
      const token = await new SignJWT(fx.validClaims())
        .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid })
        .sign(new TextEncoder().encode(secret));
      await expectRejected(fx.verifier, token, 'GH_ERR_TOKEN_INVALID', /algorithm/);
    }
    expect(() =>
      createTokenVerifier({ issuer: fx.idp.issuer, audience: AUDIENCE, algorithms: ['HS256'] as never }),
    ).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG' }));
    expect(() =>
      createTokenVerifier({ issuer: fx.idp.issuer, audience: AUDIENCE, algorithms: ['none'] as never }),
    ).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG' }));
  });

  it('rejects tokens signed by a different key: unknown kid, reused kid, and another IdP', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const rogue = { ...(await exportJWK(privateKey)), kid: 'rogue-key' };
    await expectRejected(fx.verifier, await fx.forge(fx.validClaims(), rogue), 'GH_ERR_TOKEN_INVALID', /key/);
    const impostor = { ...rogue, kid: fx.signingKey.kid };
    await expectRejected(
      fx.verifier,
      await fx.forge(fx.validClaims(), impostor),
      'GH_ERR_TOKEN_INVALID',
      /signature/,
    );

    const otherIdp = await startIdp({ audience: AUDIENCE });
    fx.cleanups.push(() => otherIdp.stop());
    await expectRejected(fx.verifier, await otherIdp.issueToken({ user: 'alice' }), 'GH_ERR_TOKEN_INVALID');
  });

  it('rejects correctly signed tokens with missing or premature claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { exp: _exp, ...noExp } = fx.validClaims();
    await expectRejected(fx.verifier, await fx.forge(noExp), 'GH_ERR_TOKEN_INVALID', /"exp"/);
    const { sub: _sub, ...noSub } = fx.validClaims();
    await expectRejected(fx.verifier, await fx.forge(noSub), 'GH_ERR_TOKEN_INVALID', /"sub"/);
    await expectRejected(
      fx.verifier,
      await fx.forge(fx.validClaims({ nbf: now + 600 })),
      'GH_ERR_TOKEN_INVALID',
      /not valid yet/,
    );
    await expectRejected(
      fx.verifier,
      await fx.forge(fx.validClaims({ groups: [1] })),
      'GH_ERR_TOKEN_INVALID',
      /groups/,
    );
    // Sanity check: the forging key is the IdP's, so a well-formed forged token passes.
    expect((await fx.verifier.verify(await fx.forge(fx.validClaims()))).sub).toBe('mallory');
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
      unsigned({ alg: 'none' }, fx.validClaims()),
      'GH_ERR_TOKEN_INVALID',
      /algorithm/,
    );
  });
});
