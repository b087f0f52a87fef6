import { describe, expect, it } from 'vitest';
import { PgProtocolError } from './pg-wire/errors.js';
import { describeError } from './error-catalog/index.js';
import { AuditUnavailableError, AuthError, GatehouseError, PolicyError, ProtocolError } from './errors.js';
import { EventDecodeError } from './events/errors.js';
import { TokenError } from './identity/errors.js';
import {
  PublishBufferFullError,
  PublisherClosedError,
  PublishRefusedError,
  PublishTimeoutError,
  PublishUnavailableError,
} from './log/errors.js';
import { WebAuthError } from './web-login/errors.js';

describe('error families', () => {
  const cases: [GatehouseError, abstract new (...args: never[]) => GatehouseError, string][] = [
    [new PublishBufferFullError('1 MiB'), AuditUnavailableError, 'audit'],
    [new PublishUnavailableError(10), AuditUnavailableError, 'audit'],
    [new PublishTimeoutError(10), AuditUnavailableError, 'audit'],
    [new PublisherClosedError(), AuditUnavailableError, 'audit'],
    [new PublishRefusedError('MESSAGE_TOO_LARGE', 'refused'), AuditUnavailableError, 'audit'],
    [new PgProtocolError('bad length'), ProtocolError, 'protocol'],
    [new EventDecodeError('corrupt'), ProtocolError, 'protocol'],
    [new TokenError('GH_ERR_TOKEN_EXPIRED', 'expired'), AuthError, 'auth'],
    [new WebAuthError('GH_ERR_FORBIDDEN', 403, 'forbidden'), AuthError, 'auth'],
  ];

  it.each(cases)(
    '%s is an instance of its family class, whose code is of that family',
    (err, family, name) => {
      expect(err).toBeInstanceOf(family);
      expect(err).toBeInstanceOf(GatehouseError);
      expect(describeError(err.code).family).toBe(name);
    },
  );

  it('keeps the families apart', () => {
    expect(new PgProtocolError('x')).not.toBeInstanceOf(AuditUnavailableError);
    expect(new PublishTimeoutError(1)).not.toBeInstanceOf(ProtocolError);
    expect(new TokenError('GH_ERR_TOKEN_INVALID', 'x')).not.toBeInstanceOf(PolicyError);
    expect(new EventDecodeError('x')).not.toBeInstanceOf(AuthError);
  });

  it('names the error after its class and keeps the cause', () => {
    const cause = new Error('socket closed');
    const err = new PublishUnavailableError(5, { cause });
    expect(err.name).toBe('PublishUnavailableError');
    expect(err.cause).toBe(cause);
  });
});
