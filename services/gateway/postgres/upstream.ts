import { createRequire } from 'node:module';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
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
    const parser = new Parser();
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
    const onMessage = (msg: BackendMessage): void => {
      switch (msg.name) {
        case 'authenticationCleartextPassword':
          socket.write(serialize.password(password));
          break;
        case 'authenticationMD5Password': {
          fail(new Error('upstream asked for MD5 authentication; SCRAM-SHA-256 is required'));
          break;
        }
        case 'authenticationSASL':
          scram = sasl.startSession((msg as unknown as { mechanisms: string[] }).mechanisms);
          socket.write(serialize.sendSASLInitialResponseMessage(scram.mechanism, scram.response));
          break;
        case 'authenticationSASLContinue':
          if (!scram) return fail(new Error('SASL continue without a session'));
          sasl
            .continueSession(scram, password, (msg as unknown as { data: string }).data)
            .then(() => socket.write(serialize.sendSCRAMClientFinalMessage(scram!.response)))
            .catch(fail);
          break;
        case 'authenticationSASLFinal':
          try {
            if (!scram) throw new Error('SASL final without a session');
            sasl.finalizeSession(scram, (msg as unknown as { data: string }).data);
          } catch (err) {
            fail(err);
          }
          break;
        case 'authenticationOk':
          break;
        case 'parameterStatus': {
          const p = msg as unknown as { parameterName: string; parameterValue: string };
          parameters.set(p.parameterName, p.parameterValue);
          break;
        }
        case 'backendKeyData': {
          const k = msg as unknown as { processID: number; secretKey: number };
          backendPid = k.processID;
          backendSecret = k.secretKey;
          break;
        }
        case 'error':
          fail(new Error(`upstream refused login: ${(msg as unknown as { code: string }).code}`));
          break;
        case 'readyForQuery':
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
        parser.parse(chunk, onMessage);
      } catch (err) {
        fail(err);
      }
    };
    const onClose = (): void => fail(new Error('upstream closed the connection during login'));
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.on('connect', () => {
      socket.write(serialize.startup({ ...startupParams, user: target.user, database: target.database }));
    });
  });
}

/** Sends a CancelRequest for an upstream backend on a fresh connection (fire and forget, bounded by a timeout). */
export function cancelUpstream(target: UpstreamTarget, pid: number, secret: number): void {
  const socket = connect({ host: target.host, port: target.port });
  socket.setTimeout(target.connectTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.end(serialize.cancel(pid, secret)));
}

/** Keeps the error's kind and message, drops anything else a driver may have attached. */
function sanitize(cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new Error(message.replace(/password=\S+/gi, 'password=[redacted]'));
}
