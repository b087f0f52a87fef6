import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { TokenError } from '../../shared/identity/index.js';
import type { Identity } from '../../shared/identity/index.js';
import {
  authenticationCleartextPassword,
  errorResponse,
  FrontendParser,
  gssEncResponse,
  PgProtocolError,
  sslResponse,
} from '../../shared/pg-wire/index.js';
import type { CancelRequestMessage, FrontendMessage, StartupMessage } from '../../shared/pg-wire/index.js';
import { printable } from '../login-audit/index.js';
import { PgClientError } from './errors.js';
import { vetStartupParameters } from './startup-params.js';
import type { VettedStartup } from './startup-params.js';

export type LoginResult = {
  /** The socket to use from now on (the TLS socket after an upgrade). */
  socket: Socket;
  parser: FrontendParser;
  startup: StartupMessage;
  identity: Identity;
  tls: boolean;
  /** The vetted startup parameters: what may be sent upstream. */
  settings: VettedStartup;
};

/**
 * What a login attempt revealed so far, filled in by `login` as it goes (for the `login_refused` event of a refusal).
 * `identity` is set only from a token whose signature verified.
 */
export type LoginAttempt = {
  /** A StartupMessage arrived. */
  startup: boolean;
  /** The connection name the client asked for (the StartupMessage's `database`, else `user`). */
  connection: string;
  /** Non-secret startup parameters (application_name). */
  attributes: Record<string, string>;
  /** The verifier's error when the token was refused. */
  tokenError?: unknown;
  identity?: Identity;
};

export function newLoginAttempt(): LoginAttempt {
  return { startup: false, connection: '', attributes: {} };
}

export type LoginOptions = {
  tls: SecureContext | null;
  allowPlaintext: boolean;
  maxMessageBytes: number;
  timeoutMs: number;
  /** Whether a connection of this name exists (the StartupMessage's `database`). */
  hasConnection: (name: string) => boolean;
  verifyToken: (token: string) => Promise<Identity>;
  onCancel: (msg: CancelRequestMessage) => void;
  /** Filled in as the login proceeds. */
  attempt?: LoginAttempt;
};

/** Thrown for a CancelRequest connection: it is handled and closed, no session follows. */
export class CancelHandled extends Error {}

/**
 * The login phase of a client connection: SSL negotiation, StartupMessage, then the OIDC token as cleartext
 * password (only inside TLS unless plaintext is explicitly allowed). Startup parameters are vetted against the
 * allowlist of `startup-params.ts` (FATAL naming a refused one). Resolves with the verified identity. On
 * failure it sends the client a FATAL ErrorResponse (28000/28P01/3D000/08P01, never token content), closes the
 * connection and rejects with the `PgClientError`.
 */
export function login(raw: Socket, opts: LoginOptions): Promise<LoginResult> {
  return new Promise<LoginResult>((resolve, reject) => {
    const attempt = opts.attempt ?? newLoginAttempt();
    let socket: Socket = raw;
    let tls = false;
    const parser = new FrontendParser({ maxMessageSize: opts.maxMessageBytes });
    let startup: StartupMessage | undefined;
    let settings: VettedStartup | undefined;
    let verifying = false;
    let settled = false;
    const finish = (err: Error | null, result?: LoginResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err instanceof PgClientError && !socket.destroyed) {
        // On the socket the client speaks on now: after an SSL upgrade, that is the TLS socket.
        socket.end(errorResponse({ severity: err.severity, code: err.sqlstate, message: err.message }));
      }
      if (err) reject(err);
      else resolve(result!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new PgClientError('GH_ERR_PG_LOGIN_TIMEOUT', '08P01', 'login timed out', { severity: 'FATAL' }),
        ),
      opts.timeoutMs,
    );
    const onClose = (): void => finish(new Error('client closed during login'));

    const handle = (msg: FrontendMessage): void => {
      switch (msg.type) {
        case 'SSLRequest':
          if (tls || !opts.tls) {
            socket.write(sslResponse(false));
            return;
          }
          if (parser.bufferedBytes > 0) {
            throw new PgProtocolError('unencrypted data after SSL request');
          }
          socket.off('data', onData);
          socket.write(sslResponse(true));
          socket = new TLSSocket(raw, { isServer: true, secureContext: opts.tls });
          tls = true;
          socket.on('data', onData);
          socket.on('error', () => finish(new Error('TLS handshake failed')));
          return;
        case 'GSSENCRequest':
          socket.write(gssEncResponse());
          return;
        case 'CancelRequest':
          opts.onCancel(msg);
          socket.destroy();
          finish(new CancelHandled());
          return;
        case 'StartupMessage': {
          attempt.startup = true;
          attempt.connection = msg.parameters.database ?? msg.parameters.user ?? '';
          const app = msg.parameters.application_name;
          if (app !== undefined) attempt.attributes.application_name = app;
          attempt.attributes.tls = String(tls);
          if (!tls && !opts.allowPlaintext) {
            throw new PgClientError(
              'GH_ERR_PG_TLS_REQUIRED',
              '28000',
              'gatehouse requires TLS: connect with sslmode=require',
              {
                severity: 'FATAL',
              },
            );
          }
          // Refused parameters end the login here, before any token is asked for.
          settings = vetStartupParameters(msg.parameters);
          startup = msg;
          socket.write(authenticationCleartextPassword());
          return;
        }
        case 'PasswordMessage': {
          if (!startup || verifying) throw new PgProtocolError('unexpected password message');
          const token = msg.password;
          if (token === null || token === '') {
            throw new PgClientError(
              'GH_ERR_PG_NO_TOKEN',
              '28P01',
              'an OIDC access token is required as the password',
              {
                severity: 'FATAL',
              },
            );
          }
          verifying = true;
          socket.pause();
          const s = startup;
          const vetted = settings!;
          opts.verifyToken(token).then(
            (identity) => {
              attempt.identity = identity;
              if (!opts.hasConnection(attempt.connection)) {
                finish(
                  new PgClientError(
                    'GH_ERR_PG_UNKNOWN_CONNECTION',
                    '3D000',
                    `connection "${printable(attempt.connection, 64)}" does not exist`,
                    { severity: 'FATAL' },
                  ),
                );
                return;
              }
              socket.resume();
              finish(null, { socket, parser, startup: s, identity, tls, settings: vetted });
            },
            (err: unknown) => {
              attempt.tokenError = err;
              if (err instanceof TokenError && err.verifiedIdentity) attempt.identity = err.verifiedIdentity;
              const message = err instanceof TokenError ? err.message : 'token could not be verified';
              finish(
                new PgClientError('GH_ERR_PG_AUTH', '28P01', `token authentication failed: ${message}`, {
                  severity: 'FATAL',
                  cause: err,
                }),
              );
            },
          );
          return;
        }
        default:
          throw new PgProtocolError(`unexpected ${msg.type} message during login`);
      }
    };

    const onData = (chunk: Buffer): void => {
      try {
        parser.push(chunk);
        while (!settled && !verifying) {
          const msg = parser.read();
          if (msg === null) break;
          handle(msg);
        }
      } catch (err) {
        finish(
          err instanceof PgClientError
            ? err
            : new PgClientError(
                'GH_ERR_PG_PROTOCOL',
                err instanceof PgProtocolError ? err.sqlstate : '08P01',
                err instanceof Error ? err.message : String(err),
                { severity: 'FATAL' },
              ),
        );
      }
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
