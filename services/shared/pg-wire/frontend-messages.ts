import type { FormatCode } from './message-codes.js';

/**
 * Client → server messages, as parsed by `FrontendParser`. Every message keeps `raw`: the complete message bytes
 * (type byte, length and payload; for startup packets length and payload) so the gateway can forward it unchanged.
 * `raw` and any Buffer field are views of the received chunks whenever the message arrived in one chunk.
 */
export type FrontendMessage =
  | SslRequestMessage
  | GssEncRequestMessage
  | CancelRequestMessage
  | StartupMessage
  | QueryMessage
  | ParseMessage
  | BindMessage
  | DescribeMessage
  | ExecuteMessage
  | SyncMessage
  | FlushMessage
  | CloseMessage
  | TerminateMessage
  | PasswordMessage
  | CopyDataMessage
  | CopyDoneMessage
  | CopyFailMessage
  | FunctionCallMessage;

export type FrontendMessageType = FrontendMessage['type'];

/** Statement ('S') or portal ('P'), the target of Describe and Close. */
export type DescribeTarget = 'S' | 'P';

export interface SslRequestMessage {
  readonly type: 'SSLRequest';
  readonly raw: Buffer;
}

export interface GssEncRequestMessage {
  readonly type: 'GSSENCRequest';
  readonly raw: Buffer;
}

export interface CancelRequestMessage {
  readonly type: 'CancelRequest';
  readonly processId: number;
  readonly secretKey: number;
  readonly raw: Buffer;
}

export interface StartupMessage {
  readonly type: 'StartupMessage';
  /** Major version in the high 16 bits (always 3), minor in the low 16 bits. */
  readonly protocolVersion: number;
  readonly minorVersion: number;
  /** user, database, application_name, options, client_encoding, `_pq_.*` protocol options… (no duplicates). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly raw: Buffer;
}

export interface QueryMessage {
  readonly type: 'Query';
  readonly sql: string;
  readonly raw: Buffer;
}

export interface ParseMessage {
  readonly type: 'Parse';
  /** Prepared statement name; '' is the unnamed statement. */
  readonly name: string;
  readonly query: string;
  /** Parameter type OIDs given by the client (0 = unspecified). */
  readonly paramTypes: readonly number[];
  readonly raw: Buffer;
}

export interface BindMessage {
  readonly type: 'Bind';
  readonly portal: string;
  readonly statement: string;
  /** Empty (all text), one code for all parameters, or one per parameter. */
  readonly paramFormats: readonly FormatCode[];
  /** Parameter values as views of the message, `null` for SQL NULL. */
  readonly params: readonly (Buffer | null)[];
  /** Empty (all text), one code for all columns, or one per column. */
  readonly resultFormats: readonly FormatCode[];
  readonly raw: Buffer;
}

export interface DescribeMessage {
  readonly type: 'Describe';
  readonly target: DescribeTarget;
  readonly name: string;
  readonly raw: Buffer;
}

export interface ExecuteMessage {
  readonly type: 'Execute';
  readonly portal: string;
  /** Maximum number of rows to return; 0 = no limit. */
  readonly maxRows: number;
  readonly raw: Buffer;
}

export interface SyncMessage {
  readonly type: 'Sync';
  readonly raw: Buffer;
}

export interface FlushMessage {
  readonly type: 'Flush';
  readonly raw: Buffer;
}

export interface CloseMessage {
  readonly type: 'Close';
  readonly target: DescribeTarget;
  readonly name: string;
  readonly raw: Buffer;
}

export interface TerminateMessage {
  readonly type: 'Terminate';
  readonly raw: Buffer;
}

/**
 * 'p': a cleartext password, or a SASL/GSS response, depending on the authentication request the server sent.
 * `password` is the decoded cleartext password when the payload is one NUL-terminated string, else `null`.
 * Holds a secret: never log this object.
 */
export interface PasswordMessage {
  readonly type: 'PasswordMessage';
  readonly data: Buffer;
  readonly password: string | null;
  readonly raw: Buffer;
}

/**
 * The content of a PasswordMessage sent after AuthenticationSASL (see `decodeSaslInitialResponse`); the later
 * SASLResponse messages carry only `PasswordMessage.data`. Holds authentication data: never log it.
 */
export interface SaslInitialResponse {
  readonly mechanism: string;
  readonly data: Buffer | null;
}

export interface CopyDataMessage {
  readonly type: 'CopyData';
  readonly data: Buffer;
  readonly raw: Buffer;
}

export interface CopyDoneMessage {
  readonly type: 'CopyDone';
  readonly raw: Buffer;
}

export interface CopyFailMessage {
  readonly type: 'CopyFail';
  readonly message: string;
  readonly raw: Buffer;
}

export interface FunctionCallMessage {
  readonly type: 'FunctionCall';
  readonly functionOid: number;
  readonly argFormats: readonly FormatCode[];
  readonly args: readonly (Buffer | null)[];
  readonly resultFormat: FormatCode;
  readonly raw: Buffer;
}
