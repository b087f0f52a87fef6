import type { Level, Logger } from 'pino';

/** How an error appears in every log line: `{ err: LoggedError }`. */
export type LoggedError = {
  /** The `GH_ERR_*` code, or a library's string code (`ECONNRESET`); absent when the error has none. */
  code?: string;
  message: string;
  /** The error's id, when it has one (the id a client was told). */
  id?: string;
  cause?: LoggedError;
  /** Only where asked for (`withStack`): unexpected errors, where the stack is the point. */
  stack?: string;
};

/** Bounds: a foreign error's message may be long; causes may nest. */
const MAX_MESSAGE_CHARS = 1_000;
const MAX_CAUSE_DEPTH = 3;

/**
 * The loggable fields of a thrown value: code, message, id and the cause chain, nothing else. Enumerable fields of
 * library errors (which may carry request bodies, rows or token claims) are left out on purpose, and so is the
 * stack unless `withStack` (unexpected errors only).
 */
export function errorFields(err: unknown, options: { withStack?: boolean } = {}): LoggedError {
  const fields = fieldsAt(err, 0);
  if (options.withStack === true && err instanceof Error && err.stack !== undefined) fields.stack = err.stack;
  return fields;
}

function fieldsAt(err: unknown, depth: number): LoggedError {
  if (typeof err !== 'object' || err === null) return { message: String(err).slice(0, MAX_MESSAGE_CHARS) };
  const e = err as { code?: unknown; message?: unknown; id?: unknown; cause?: unknown; name?: unknown };
  const message = typeof e.message === 'string' ? e.message : typeof e.name === 'string' ? e.name : 'error';
  const fields: LoggedError = { message: message.slice(0, MAX_MESSAGE_CHARS) };
  if (typeof e.code === 'string') fields.code = e.code;
  if (typeof e.id === 'string') fields.id = e.id;
  if (e.cause !== undefined && depth < MAX_CAUSE_DEPTH) fields.cause = fieldsAt(e.cause, depth + 1);
  return fields;
}

/**
 * The logger's serializer of the `err` field: an `Error` logged as is (`log.error({ err }, …)`, or by a library
 * such as fastify) gets the same shape, with its stack; what `logError` built is kept as it is.
 */
export function serializeErr(value: unknown): unknown {
  return value instanceof Error ? errorFields(value, { withStack: true }) : value;
}

export type LogErrorOptions = {
  /** `error` unless said otherwise. */
  level?: Level;
  /** Adds the stack (for unexpected errors only; a stack holds no payload). */
  withStack?: boolean;
  /** Further fields of the line (request id, connection…); never payloads or secrets. */
  [field: string]: unknown;
};

/** Logs `err` in the one shape every service uses: `{ ...fields, err: { code, message, id?, cause? } }`. */
export function logError(log: Logger, err: unknown, msg: string, options: LogErrorOptions = {}): void {
  const { level = 'error', withStack = false, ...fields } = options;
  log[level]({ ...fields, err: errorFields(err, { withStack }) }, msg);
}
