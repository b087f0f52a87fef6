import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { TokenError, TokenErrorCode } from '../../services/shared/identity/index.js';
import type { Identity } from '../../services/shared/identity/index.js';
import type { ReplayApiAuth } from '../../services/recorder/replay/http-api.js';

const identity = (sub: string, groups: string[]): Identity => ({
  sub,
  email: `${sub}@example.com`,
  groups,
  agent: false,
  issuer: 'https://idp.test',
  client_id: 'test',
});

/** Unit-test auth for the replay API: "soc-token" is an analyst, "dev-token" a developer; anything else is invalid. */
export const TEST_AUTH: ReplayApiAuth = {
  allowedGroups: ['soc'],
  verify: (token) => {
    if (token === 'soc-token') return Promise.resolve(identity('sam', ['soc']));
    if (token === 'dev-token') return Promise.resolve(identity('dev', ['engineering']));
    return Promise.reject(new TokenError(TokenErrorCode.invalid, 'token is malformed'));
  },
};

/** `app.inject` as an analyst (unit tests of routes other than authentication). */
export function asAnalyst(app: FastifyInstance): {
  inject(o: InjectOptions): Promise<LightMyRequestResponse>;
} {
  return {
    inject: (o) => {
      const opts: InjectOptions = { ...o, headers: { authorization: 'Bearer soc-token', ...o.headers } };
      return app.inject(opts);
    },
  };
}
