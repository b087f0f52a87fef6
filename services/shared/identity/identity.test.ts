import { describe, expect, it } from 'vitest';
import { TokenError } from './errors.js';
import { claimsToIdentity, isAgentToken } from './identity.js';

const mapping = { agentClaim: 'gatehouse_agent', groupsClaim: 'groups' };
const base = { iss: 'https://idp.example', sub: 'alice', aud: 'gatehouse', exp: 2_000_000_000 };

describe('claimsToIdentity', () => {
  it('maps a human token', () => {
    const id = claimsToIdentity(
      { ...base, email: 'a@example.test', groups: ['dba', 'eng', 'dba'], client_id: 'cli' },
      mapping,
    );
    expect(id).toEqual({
      sub: 'alice',
      email: 'a@example.test',
      groups: ['dba', 'eng'],
      agent: false,
      issuer: 'https://idp.example',
      client_id: 'cli',
    });
    expect(Object.isFrozen(id)).toBe(true);
    expect(Object.isFrozen(id.groups)).toBe(true);
  });

  it('uses empty strings for absent email and client, and azp when client_id is absent', () => {
    expect(claimsToIdentity(base, mapping)).toMatchObject({ email: '', client_id: '', groups: [] });
    expect(claimsToIdentity({ ...base, azp: 'web' }, mapping).client_id).toBe('web');
  });

  it('drops an email the provider says is unverified', () => {
    expect(claimsToIdentity({ ...base, email: 'a@x.test', email_verified: false }, mapping).email).toBe('');
    expect(claimsToIdentity({ ...base, email: 'a@x.test', email_verified: true }, mapping).email).toBe(
      'a@x.test',
    );
  });

  it('reads a custom groups claim and a single-string group', () => {
    expect(
      claimsToIdentity({ ...base, roles: 'admin' }, { ...mapping, groupsClaim: 'roles' }).groups,
    ).toEqual(['admin']);
  });

  it.each([
    ['groups not strings', { groups: [1, 2] }],
    ['groups an object', { groups: { a: 1 } }],
    ['too many groups', { groups: Array.from({ length: 257 }, (_, i) => `g${i}`) }],
    ['email not a string', { email: 42 }],
    ['empty sub', { sub: '' }],
    ['sub not a string', { sub: 7 }],
  ])('rejects malformed claims: %s', (_name, extra) => {
    const run = () => claimsToIdentity({ ...base, ...extra } as never, mapping);
    expect(run).toThrow(TokenError);
    expect(run).toThrow(expect.objectContaining({ code: 'GH_ERR_TOKEN_INVALID' }));
  });
});

describe('isAgentToken', () => {
  it.each([
    ['agent claim true', { gatehouse_agent: true }, true],
    ['agent claim "true"', { gatehouse_agent: 'true' }, true],
    ['agent claim false', { gatehouse_agent: false }, false],
    ['agent claim 1 (not a boolean)', { gatehouse_agent: 1 }, false],
    ['gty client_credentials (Auth0)', { gty: 'client_credentials' }, true],
    ['grant_type hint', { grant_type: 'client_credentials' }, true],
    ['gty password', { gty: 'password' }, false],
    ['sub equals client_id', { sub: 'svc', client_id: 'svc' }, true],
    ['sub equals azp', { sub: 'svc', azp: 'svc' }, true],
    ['sub differs from client_id', { sub: 'alice', client_id: 'svc' }, false],
    ['client_id wins over azp', { sub: 'svc', client_id: 'cli', azp: 'svc' }, false],
    [
      'machine token with agent claim false is still an agent',
      { sub: 'svc', client_id: 'svc', gatehouse_agent: false },
      true,
    ],
    ['plain human', {}, false],
  ])('%s', (_name, extra, expected) => {
    expect(isAgentToken({ ...base, ...extra }, 'gatehouse_agent')).toBe(expected);
  });

  it('honours a configured agent claim name', () => {
    expect(isAgentToken({ ...base, 'https://example.test/agent': true }, 'https://example.test/agent')).toBe(
      true,
    );
    expect(isAgentToken({ ...base, gatehouse_agent: true }, 'https://example.test/agent')).toBe(false);
  });
});
