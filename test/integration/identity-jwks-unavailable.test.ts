import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp } from '../../dev/idp/start-idp.js';
import { createTokenVerifier } from '../../services/shared/identity/token-verifier.js';
import { AUDIENCE, closedPort, expectRejected, startIdentityFixture } from '../support/identity.js';
import type { IdentityFixture } from '../support/identity.js';

let fx: IdentityFixture;
beforeAll(async () => {
  fx = await startIdentityFixture();
});
afterAll(() => fx.stop());

describe('JWKS unavailable', () => {
  it('fails closed with GH_ERR_JWKS_UNAVAILABLE when discovery or the JWKS cannot be reached', async () => {
    const token = await fx.idp.issueToken({ user: 'alice' });
    const port = await closedPort();
    const noDiscovery = createTokenVerifier({ issuer: `http://127.0.0.1:${port}`, audience: AUDIENCE });
    await expectRejected(noDiscovery, token, 'GH_ERR_JWKS_UNAVAILABLE');
    await expect(noDiscovery.warmUp()).rejects.toMatchObject({ code: 'GH_ERR_JWKS_UNAVAILABLE' });

    const noJwks = createTokenVerifier({
      issuer: fx.idp.issuer,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${port}/jwks`,
    });
    await expectRejected(noJwks, token, 'GH_ERR_JWKS_UNAVAILABLE');

    const notJwks = createTokenVerifier({
      issuer: fx.idp.issuer,
      audience: AUDIENCE,
      jwksUri: `${fx.idp.issuer}/nope`,
    });
    await expectRejected(notJwks, token, 'GH_ERR_JWKS_UNAVAILABLE');
  });

  it('times out on a provider that never answers', async () => {
    const token = await fx.idp.issueToken({ user: 'alice' });
    const { url } = await fx.blackHole();
    const hung = createTokenVerifier({ issuer: url, audience: AUDIENCE, httpTimeoutMs: 300 });
    const started = Date.now();
    await expectRejected(hung, token, 'GH_ERR_JWKS_UNAVAILABLE');
    const hungJwks = createTokenVerifier({
      issuer: fx.idp.issuer,
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
    await expectRejected(v, await fx.idp.issueToken({ user: 'alice' }), 'GH_ERR_JWKS_UNAVAILABLE');
    const late = await startIdp({ audience: AUDIENCE, port });
    fx.cleanups.push(() => late.stop());
    expect((await v.verify(await late.issueToken({ user: 'frank' }))).sub).toBe('frank');
  });
});
