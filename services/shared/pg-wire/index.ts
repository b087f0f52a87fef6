/*
 * The PostgreSQL wire protocol (3.0) codec shared by the gateway and the recorder: pure functions and incremental
 * parsers, bytes in and typed messages out, builders for outgoing bytes. No sockets, timers or logging.
 */
export { PgProtocolError } from './errors.js';
export type { PgProtocolSqlState } from './errors.js';
export { BackendCode, FrontendCode, StartupCode } from './message-codes.js';
export type { FormatCode, TransactionStatus } from './message-codes.js';
export type * from './frontend-messages.js';
export {
  FrontendParser,
  DEFAULT_MAX_CONTROL_MESSAGE_SIZE,
  DEFAULT_MAX_FRONTEND_MESSAGE_SIZE,
  DEFAULT_MAX_STARTUP_MESSAGE_SIZE,
} from './frontend-parser.js';
export type { FrontendParserOptions, FrontendPhase } from './frontend-parser.js';
export {
  decodeFrontendMessage,
  decodeSaslInitialResponse,
  decodeStartupPacket,
} from './frontend-decoders.js';
export * from './frontend-builders.js';
export * from './backend-builders.js';
export { BackendSplitter, DEFAULT_MAX_BACKEND_MESSAGE_SIZE } from './backend-splitter.js';
export type { BackendFrame, BackendSplitterOptions } from './backend-splitter.js';
export * from './backend-decoders.js';
export { decodeBackendMessage, decodeBackendMessages } from './backend-messages.js';
export type { BackendMessage, BackendMessageType, DecodeBackendMessagesOptions } from './backend-messages.js';
