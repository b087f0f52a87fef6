import { PgProtocolError } from './errors.js';
import type {
  FrontendMessage,
  DescribeTarget,
  PasswordMessage,
  SaslInitialResponse,
  StartupMessage,
} from './frontend-messages.js';
import { FrontendCode, StartupCode } from './message-codes.js';
import { PayloadReader } from './payload-reader.js';

/**
 * Decodes one complete startup-phase packet (`raw` = int32 length + int32 code + body; the length was checked).
 * Rejects protocol majors other than 3 with 0A000, like PostgreSQL.
 */
export function decodeStartupPacket(raw: Buffer): FrontendMessage {
  const code = raw.readInt32BE(4);
  switch (code) {
    case StartupCode.SSLRequest:
      if (raw.length !== 8) throw new PgProtocolError('malformed SSLRequest: unexpected length');
      return { type: 'SSLRequest', raw };
    case StartupCode.GSSENCRequest:
      if (raw.length !== 8) throw new PgProtocolError('malformed GSSENCRequest: unexpected length');
      return { type: 'GSSENCRequest', raw };
    case StartupCode.CancelRequest:
      if (raw.length !== 16) throw new PgProtocolError('malformed CancelRequest: unexpected length');
      return { type: 'CancelRequest', processId: raw.readInt32BE(8), secretKey: raw.readInt32BE(12), raw };
    default:
      return decodeStartupMessage(raw, code);
  }
}

function decodeStartupMessage(raw: Buffer, version: number): StartupMessage {
  const major = version >>> 16;
  if (major !== 3) {
    throw new PgProtocolError(`unsupported frontend protocol ${major}.${version & 0xffff}`, '0A000');
  }
  const r = new PayloadReader(raw, 'StartupMessage', 8);
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    if (r.remaining === 0) r.fail('missing terminator');
    if (raw[r.pos] === 0) {
      r.pos++;
      break;
    }
    const name = r.cstring();
    const value = r.cstring();
    if (Object.hasOwn(parameters, name)) r.fail('duplicate parameter');
    parameters[name] = value;
  }
  r.done();
  return {
    type: 'StartupMessage',
    protocolVersion: version,
    minorVersion: version & 0xffff,
    parameters,
    raw,
  };
}

/** Decodes one complete typed message (`raw` = type byte + int32 length + payload; framing already checked). */
export function decodeFrontendMessage(raw: Buffer): FrontendMessage {
  const code = raw[0]!;
  switch (code) {
    case FrontendCode.Query: {
      const r = new PayloadReader(raw, 'Query', 5);
      const sql = r.cstring();
      r.done();
      return { type: 'Query', sql, raw };
    }
    case FrontendCode.Parse: {
      const r = new PayloadReader(raw, 'Parse', 5);
      const name = r.cstring();
      const query = r.cstring();
      const n = r.uint16();
      if (r.remaining !== n * 4) r.fail('parameter type count does not match length');
      const paramTypes = new Array<number>(n);
      for (let i = 0; i < n; i++) paramTypes[i] = r.uint32();
      return { type: 'Parse', name, query, paramTypes, raw };
    }
    case FrontendCode.Bind: {
      const r = new PayloadReader(raw, 'Bind', 5);
      const portal = r.cstring();
      const statement = r.cstring();
      const paramFormats = r.formatCodes();
      const params = r.values();
      if (paramFormats.length > 1 && paramFormats.length !== params.length) {
        r.fail(`${paramFormats.length} parameter formats for ${params.length} parameters`);
      }
      const resultFormats = r.formatCodes();
      r.done();
      return { type: 'Bind', portal, statement, paramFormats, params, resultFormats, raw };
    }
    case FrontendCode.Describe:
    case FrontendCode.Close: {
      const what = code === FrontendCode.Describe ? 'Describe' : 'Close';
      const r = new PayloadReader(raw, what, 5);
      const target = describeTarget(r);
      const name = r.cstring();
      r.done();
      return code === FrontendCode.Describe
        ? { type: 'Describe', target, name, raw }
        : { type: 'Close', target, name, raw };
    }
    case FrontendCode.Execute: {
      const r = new PayloadReader(raw, 'Execute', 5);
      const portal = r.cstring();
      const maxRows = r.uint32();
      r.done();
      return { type: 'Execute', portal, maxRows, raw };
    }
    case FrontendCode.Sync:
      emptyPayload(raw, 'Sync');
      return { type: 'Sync', raw };
    case FrontendCode.Flush:
      emptyPayload(raw, 'Flush');
      return { type: 'Flush', raw };
    case FrontendCode.Terminate:
      emptyPayload(raw, 'Terminate');
      return { type: 'Terminate', raw };
    case FrontendCode.CopyDone:
      emptyPayload(raw, 'CopyDone');
      return { type: 'CopyDone', raw };
    case FrontendCode.CopyData:
      return { type: 'CopyData', data: raw.subarray(5), raw };
    case FrontendCode.CopyFail: {
      const r = new PayloadReader(raw, 'CopyFail', 5);
      const message = r.cstring();
      r.done();
      return { type: 'CopyFail', message, raw };
    }
    case FrontendCode.PasswordMessage: {
      const data = raw.subarray(5);
      return { type: 'PasswordMessage', data, password: cleartextPassword(data), raw };
    }
    case FrontendCode.FunctionCall: {
      const r = new PayloadReader(raw, 'FunctionCall', 5);
      const functionOid = r.uint32();
      const argFormats = r.formatCodes();
      const args = r.values();
      if (argFormats.length > 1 && argFormats.length !== args.length) {
        r.fail(`${argFormats.length} argument formats for ${args.length} arguments`);
      }
      const resultFormat = r.formatCode();
      r.done();
      return { type: 'FunctionCall', functionOid, argFormats, args, resultFormat, raw };
    }
    default:
      throw new PgProtocolError(`invalid frontend message type ${code}`);
  }
}

function describeTarget(r: PayloadReader): DescribeTarget {
  const t = r.uint8();
  if (t === 0x53) return 'S';
  if (t === 0x50) return 'P';
  return r.fail(`invalid target type ${t}`);
}

function emptyPayload(raw: Buffer, what: string): void {
  if (raw.length !== 5) throw new PgProtocolError(`malformed ${what} message: unexpected payload`);
}

/** The cleartext password if `data` is exactly one NUL-terminated string, else null (SASL/GSS data). */
function cleartextPassword(data: Buffer): string | null {
  const nul = data.indexOf(0);
  if (nul !== data.length - 1) return null;
  return data.toString('utf8', 0, nul);
}

/**
 * Reads a PasswordMessage as SASLInitialResponse (what 'p' holds after AuthenticationSASL): the mechanism name and
 * the client-first message, `null` when the client sent none (length -1).
 */
export function decodeSaslInitialResponse(msg: PasswordMessage): SaslInitialResponse {
  const r = new PayloadReader(msg.data, 'SASLInitialResponse');
  const mechanism = r.cstring();
  const len = r.int32();
  if (len < -1) r.fail(`invalid data length ${len}`);
  const data = len === -1 ? null : r.bytes(len);
  r.done();
  return { mechanism, data };
}
