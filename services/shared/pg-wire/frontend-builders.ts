import { serialize } from 'pg-protocol';
import type { DescribeTarget } from './frontend-messages.js';

/*
 * Pure builders of client → server messages, for the gateway's own upstream connections (login, cancel) and the
 * messages it injects into a session (the denial probe). Each returns a new Buffer holding exactly one message.
 * They wrap `pg-protocol`'s serializer (the `pg` driver's), which writes these messages well, behind typed
 * signatures; only the messages the gateway sends are exposed.
 */

/**
 * StartupMessage for protocol 3.0 with `parameters` (user, database, …), then `client_encoding=UTF8` as the `pg`
 * driver sends it. Holds no secret.
 */
export function startupMessage(parameters: Readonly<Record<string, string>>): Buffer {
  return serialize.startup(parameters);
}

/** SSLRequest: asks the server whether it will speak TLS on this connection. */
export function sslRequest(): Buffer {
  return serialize.requestSsl();
}

/** CancelRequest for the backend identified by BackendKeyData (sent on a fresh connection). */
export function cancelRequest(processId: number, secretKey: number): Buffer {
  return serialize.cancel(processId, secretKey);
}

/** PasswordMessage ('p') answering AuthenticationCleartextPassword. Holds a secret: never log it. */
export function passwordMessage(password: string): Buffer {
  return serialize.password(password);
}

/** SASLInitialResponse ('p'): the chosen mechanism and the client-first message. */
export function saslInitialResponse(mechanism: string, clientFirstMessage: string): Buffer {
  return serialize.sendSASLInitialResponseMessage(mechanism, clientFirstMessage);
}

/** SASLResponse ('p'): the client-final message of SCRAM. Holds a proof of the password: never log it. */
export function saslResponse(clientFinalMessage: string): Buffer {
  return serialize.sendSCRAMClientFinalMessage(clientFinalMessage);
}

/** Query ('Q'): one simple-protocol SQL text. */
export function queryMessage(sql: string): Buffer {
  return serialize.query(sql);
}

/**
 * Bind ('B') without parameters: binds `statement` to `portal` with all result columns in text format.
 */
export function bindMessage(portal: string, statement: string): Buffer {
  return serialize.bind({ portal, statement, values: [] });
}

/** Describe ('D') of a prepared statement ('S') or a portal ('P'). */
export function describeMessage(target: DescribeTarget, name: string): Buffer {
  return serialize.describe({ type: target, name });
}
