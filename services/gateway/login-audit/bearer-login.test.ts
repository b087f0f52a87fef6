import { describe, expect, it } from 'vitest';
import type { Identity } from '../../shared/identity/index.js';
import { TokenError, TokenErrorCode } from '../../shared/identity/index.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import { createLogger } from '../../shared/logger.js';
import { bearerLogin } from './bearer-login.js';
import type { LoginRefusal } from './login-refusals.js';
import { LoginRefusals } from './login-refusals.js';

/** Keeps the refusals instead of publishing them (the publishing is login-refusals.test.ts's). */
class KeptRefusals extends LoginRefusals {
  readonly kept: LoginRefusal[] = [];
  constructor() {
    super({
      nodeId: 'n1',
      publisher: {} as EventPublisher,
      topic: 't',
      log: createLogger({ service: 'test', level: 'silent' }),
      limits: { burst: 1, perSecond: 1, maxSources: 1, summaryIntervalMs: 1_000 },
    });
  }
  override record(r: LoginRefusal): void {
    this.kept.push(r);
  }
}

const ada: Identity = {
  sub: 'ada',
  email: 'ada@example.com',
  groups: ['eng'],
  agent: false,
  issuer: 'i',
  client_id: 'c',
};

function attempt(token: string | undefined, verify: (t: string) => Promise<Identity>) {
  const refusals = new KeptRefusals();
  const failed: string[] = [];
  const answers: { detail: string; tokenPresented: boolean }[] = [];
  const login = bearerLogin(
    { protocol: 'http', refusals, metrics: { loginFailed: (code) => failed.push(code) } },
    {
      token,
      clientAddr: '10.0.0.1:5000',
      connection: { name: 'api', tags: { env: 'prod' } },
      verify,
      answer: (detail, tokenPresented) => answers.push({ detail, tokenPresented }),
    },
  );
  return { login, refusals, failed, answers };
}

describe('bearerLogin', () => {
  it('gives the identity of a token that verifies, and records nothing', async () => {
    const a = attempt('t', () => Promise.resolve(ada));
    expect(await a.login).toBe(ada);
    expect([a.refusals.kept, a.failed, a.answers]).toEqual([[], [], []]);
  });

  it('refuses a missing token: counted, recorded as no_token, answered without invalid_token', async () => {
    const a = attempt(undefined, () => Promise.resolve(ada));
    expect(await a.login).toBeUndefined();
    expect(a.failed).toEqual(['GH_ERR_UNAUTHENTICATED']);
    expect(a.refusals.kept).toEqual([
      expect.objectContaining({
        protocol: 'http',
        reason: 'no_token',
        clientAddr: '10.0.0.1:5000',
        connection: 'api',
        tags: { env: 'prod' },
      }),
    ]);
    expect(a.answers).toEqual([{ detail: 'a bearer token is required', tokenPresented: false }]);
  });

  it('refuses a token that does not verify with its reason and code; other errors propagate', async () => {
    const expired = new TokenError(TokenErrorCode.expired, 'the token has expired');
    const a = attempt('t', () => Promise.reject(expired));
    expect(await a.login).toBeUndefined();
    expect(a.refusals.kept[0]).toMatchObject({ reason: 'expired_token', code: expired.code });
    expect(a.answers).toEqual([{ detail: 'the token has expired', tokenPresented: true }]);
    await expect(attempt('t', () => Promise.reject(new Error('bug'))).login).rejects.toThrow('bug');
  });
});
