import { describe, expect, it } from 'vitest';
import { TokenError, TokenErrorCode } from '../identity/index.js';
import type { Identity } from '../identity/index.js';
import { bearerChallenge, bearerToken, requireGroup, verifyBearer } from './bearer-auth.js';
import { WebAuthError } from './errors.js';
import { readCookie } from './web-login.js';

const sam: Identity = { sub: 'sam', email: '', groups: ['soc'], agent: false, issuer: 'i', client_id: 'c' };

describe('bearer authentication', () => {
  it('reads only well-formed bearer headers', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   abc')).toBe('abc');
    for (const bad of [undefined, '', 'Basic abc', 'Bearer', 'Bearer a b', 'Bearer a\nb']) {
      expect(bearerToken(bad), String(bad)).toBeUndefined();
    }
  });

  it('401 without or with a refused token (never echoing it), 503 when the IdP is down', async () => {
    const refuse = (code: TokenErrorCode) => () => Promise.reject(new TokenError(code, 'token has expired'));
    await expect(verifyBearer(undefined, () => Promise.resolve(sam))).rejects.toMatchObject({ status: 401 });
    const err = await verifyBearer('Bearer secret.token.value', refuse(TokenErrorCode.expired)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WebAuthError);
    expect(err).toMatchObject({ status: 401, message: 'access token rejected: token has expired' });
    expect(JSON.stringify(err)).not.toContain('secret.token');
    await expect(verifyBearer('Bearer x', refuse(TokenErrorCode.jwksUnavailable))).rejects.toMatchObject({
      status: 503,
    });
    expect(bearerChallenge({ realm: 'r', invalidToken: true })).toBe(
      'Bearer realm="r", error="invalid_token"',
    );
    expect(bearerChallenge({ realm: 'r' })).toBe('Bearer realm="r"');
    expect(
      bearerChallenge({
        resourceMetadata: 'http://h/m',
        invalidToken: true,
        description: 'bad "sig"\r\nx: y',
      }),
    ).toBe(
      'Bearer resource_metadata="http://h/m", error="invalid_token", error_description="bad  sig   x: y"',
    );
  });

  it('403 outside the allowed groups', () => {
    expect(requireGroup(sam, ['soc'])).toBe(sam);
    expect(() => requireGroup(sam, ['dba'])).toThrow(expect.objectContaining({ status: 403 }) as Error);
  });

  it('reads one cookie by name', () => {
    expect(readCookie('a=1; gh_session=x.y; b=2', 'gh_session')).toBe('x.y');
    expect(readCookie('xgh_session=1', 'gh_session')).toBeUndefined();
    expect(readCookie(undefined, 'gh_session')).toBeUndefined();
  });
});
