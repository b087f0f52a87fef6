import { createRequire } from 'node:module';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import {
  BackendSplitter,
  cancelRequest,
  decodeBackendMessage,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  startupMessage,
} from '../../shared/pg-wire/index.js';
import type { AuthenticationRequest, BackendMessage } from '../../shared/pg-wire/index.js';
import { UpstreamUnavailableError } from './errors.js';

type ScramSession = { response: string; mechanism: string };
type Sasl = {
  startSession(mechanisms: string[], stream?: unknown): ScramSession;
  continueSession(
    session: ScramSession,
    password: string,
    serverData: string,
    stream?: unknown,
  ): Promise<void>;
  finalizeSession(session: ScramSession, serverData: string): void;
};
// The `pg` driver's SCRAM-SHA-256 implementation (RFC 5802/7677), reused rather than rewritten.
const sasl = createRequire(import.meta.url)('pg/lib/crypto/sasl.js') as Sasl;

export type UpstreamTarget = {
  connection: string;
  host: string;
  port: number;
  database: string;
  user: string;
  connectTimeoutMs: number;
};

export type UpstreamSession = {
  socket: Socket;
  backendPid: number;
  backendSecret: number;
  /** ParameterStatus values reported at login, to replay to the client. */
  parameters: ReadonlyMap<string, string>;
};

/**
 * Opens an authenticated session on the upstream database with the gateway's own credentials (SCRAM-SHA-256, or
 * MD5/cleartext if the server asks; the password never leaves this function). Resolves at the first ReadyForQuery.
 * Errors are `UpstreamUnavailableError`s that name the connection, never the address or password.
 */
export function connectUpstream(
  target: UpstreamTarget,
  password: string,
  startupParams: Readonly<Record<string, string>>,
): Promise<UpstreamSession> {
  return new Promise<UpstreamSession>((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const splitter = new BackendSplitter();
    const parameters = new Map<string, string>();
    let scram: ScramSession | undefined;
    let backendPid = 0;
    let backendSecret = 0;
    let done = false;
    const fail = (cause: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new UpstreamUnavailableError(target.connection, { cause: sanitize(cause) }));
    };
    const timer = setTimeout(() => fail(new Error('connect timeout')), target.connectTimeoutMs);
    const onAuthentication = (req: AuthenticationRequest): void => {
      switch (req.kind) {
        case 'cleartext-password':
          socket.write(passwordMessage(password));
          break;
        case 'md5-password':
          fail(new Error('upstream asked for MD5 authentication; SCRAM-SHA-256 is required'));
          break;
        case 'sasl':
          scram = sasl.startSession([...req.mechanisms]);
          socket.write(saslInitialResponse(scram.mechanism, scram.response));
          break;
        case 'sasl-continue':
          if (!scram) return fail(new Error('SASL continue without a session'));
          sasl
            .continueSession(scram, password, req.data.toString('utf8'))
            .then(() => socket.write(saslResponse(scram!.response)))
            .catch(fail);
          break;
        case 'sasl-final':
          try {
            if (!scram) throw new Error('SASL final without a session');
            sasl.finalizeSession(scram, req.data.toString('utf8'));
          } catch (err) {
            fail(err);
          }
          break;
        case 'unsupported':
          fail(new Error(`upstream asked for unsupported authentication method ${req.method}`));
          break;
        case 'ok':
          break;
      }
    };
    const onMessage = (msg: BackendMessage): void => {
      switch (msg.type) {
        case 'Authentication':
          onAuthentication(msg.request);
          break;
        case 'ParameterStatus':
          parameters.set(msg.name, msg.value);
          break;
        case 'BackendKeyData':
          backendPid = msg.processId;
          backendSecret = msg.secretKey;
          break;
        case 'ErrorResponse':
          fail(new Error(`upstream refused login: ${msg.fields.code}`));
          break;
        case 'ReadyForQuery':
          if (done) return;
          done = true;
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('error', fail);
          socket.off('close', onClose);
          resolve({ socket, backendPid, backendSecret, parameters });
          break;
        default:
          break; // notices during login are not relayed
      }
    };
    const onData = (chunk: Buffer): void => {
      try {
        for (const frame of splitter.feed(chunk)) onMessage(decodeBackendMessage(frame));
      } catch (err) {
        fail(err);
      }
    };
    const onClose = (): void => fail(new Error('upstream closed the connection during login'));
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.on('connect', () => {
      socket.write(startupMessage({ ...startupParams, user: target.user, database: target.database }));
    });
  });
}

/** Sends a CancelRequest for an upstream backend on a fresh connection (fire and forget, bounded by a timeout). */
export function cancelUpstream(target: UpstreamTarget, pid: number, secret: number): void {
  const socket = connect({ host: target.host, port: target.port });
  socket.setTimeout(target.connectTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.end(cancelRequest(pid, secret)));
}

/** Keeps the error's kind and message, drops anything else a driver may have attached. */
function sanitize(cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new Error(message.replace(/password=\S+/gi, 'password=[redacted]'));
}
