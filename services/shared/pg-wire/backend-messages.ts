import { BackendSplitter } from './backend-splitter.js';
import type { BackendFrame } from './backend-splitter.js';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeCommandComplete,
  decodeDataRow,
  decodeNoticeFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeRowDescription,
} from './backend-decoders.js';
import type { AuthenticationRequest, NoticeFields, RowField } from './backend-decoders.js';
import { PgProtocolError } from './errors.js';
import { BackendCode } from './message-codes.js';
import type { TransactionStatus } from './message-codes.js';

/**
 * A server → client message decoded whole, for readers that want every message typed (the recorder's replay, the
 * gateway's upstream login). The session's hot path decodes only the frames it needs (see backend-decoders.ts).
 * Types without a decoder here are `Other`, with their type byte and a view of their payload.
 */
export type BackendMessage =
  | { readonly type: 'Authentication'; readonly request: AuthenticationRequest }
  | { readonly type: 'BackendKeyData'; readonly processId: number; readonly secretKey: number }
  | { readonly type: 'ParameterStatus'; readonly name: string; readonly value: string }
  | { readonly type: 'ReadyForQuery'; readonly status: TransactionStatus }
  | { readonly type: 'RowDescription'; readonly fields: readonly RowField[] }
  | { readonly type: 'DataRow'; readonly values: readonly (Buffer | null)[] }
  | { readonly type: 'CommandComplete'; readonly tag: string }
  | { readonly type: 'EmptyQueryResponse' }
  | { readonly type: 'ErrorResponse'; readonly fields: NoticeFields }
  | { readonly type: 'NoticeResponse'; readonly fields: NoticeFields }
  | { readonly type: 'Other'; readonly code: number; readonly payload: Buffer };

export type BackendMessageType = BackendMessage['type'];

/** Decodes one framed server message; throws `PgProtocolError` (08P01) when its payload is malformed. */
export function decodeBackendMessage(frame: BackendFrame): BackendMessage {
  const p = frame.payload;
  switch (frame.code) {
    case BackendCode.Authentication:
      return { type: 'Authentication', request: decodeAuthentication(p) };
    case BackendCode.BackendKeyData:
      return { type: 'BackendKeyData', ...decodeBackendKeyData(p) };
    case BackendCode.ParameterStatus:
      return { type: 'ParameterStatus', ...decodeParameterStatus(p) };
    case BackendCode.ReadyForQuery:
      return { type: 'ReadyForQuery', status: decodeReadyForQuery(p) };
    case BackendCode.RowDescription:
      return { type: 'RowDescription', fields: decodeRowDescription(p) };
    case BackendCode.DataRow:
      return { type: 'DataRow', values: decodeDataRow(p) };
    case BackendCode.CommandComplete:
      return { type: 'CommandComplete', tag: decodeCommandComplete(p) };
    case BackendCode.EmptyQueryResponse:
      if (p.length !== 0)
        throw new PgProtocolError('malformed EmptyQueryResponse message: unexpected payload');
      return { type: 'EmptyQueryResponse' };
    case BackendCode.ErrorResponse:
      return { type: 'ErrorResponse', fields: decodeNoticeFields(p) };
    case BackendCode.NoticeResponse:
      return { type: 'NoticeResponse', fields: decodeNoticeFields(p) };
    default:
      return { type: 'Other', code: frame.code, payload: p };
  }
}

export interface DecodeBackendMessagesOptions {
  /** Largest accepted message (length field); default that of `BackendSplitter` (64 MiB). Larger → 54000. */
  readonly maxMessageSize?: number;
}

/**
 * Decodes a byte array that holds whole server messages (a recorded frame). Values and payloads are views of
 * `bytes`. Throws `PgProtocolError` on a malformed message or when bytes are left that do not form a whole message.
 */
export function decodeBackendMessages(
  bytes: Buffer,
  options: DecodeBackendMessagesOptions = {},
): BackendMessage[] {
  const splitter = new BackendSplitter(options);
  const out: BackendMessage[] = [];
  for (const frame of splitter.feed(bytes)) out.push(decodeBackendMessage(frame));
  if (splitter.bufferedBytes > 0) {
    throw new PgProtocolError(`trailing ${splitter.bufferedBytes} bytes are not a message`);
  }
  return out;
}
