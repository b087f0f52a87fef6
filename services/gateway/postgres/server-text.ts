import type { Detector } from '../masking/index.js';
import { maskText } from '../masking/index.js';
import { BackendCode, errorResponse, noticeResponse } from '../../shared/pg-wire/index.js';
import type { NoticeFields, Severity } from '../../shared/pg-wire/index.js';

const SEVERITIES = new Set<string>(['ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE', 'DEBUG', 'INFO', 'LOG']);

/** How the server's own texts (ErrorResponse/NoticeResponse) of one statement reach the client and the log. */
export type ServerTextMode =
  /** The statement reads masked data: message, detail, hint, context and query are replaced. */
  | { readonly redact: true }
  /** Otherwise: the content detectors run over the texts (nothing to do without detectors). */
  | { readonly redact: false; readonly detectors: readonly Detector[] };

/**
 * The ErrorResponse/NoticeResponse to forward for `raw` (decoded as `n`): `raw` itself when nothing needs hiding,
 * else a rebuilt message keeping severity and SQLSTATE. A failed cast or a unique violation quotes the value it
 * failed on (`invalid input syntax for type integer: "alice@example.com"`, `Key (email)=(…) already exists`), and
 * RAISE in user code can print anything: when the statement reads masked data, the texts are withheld whole.
 */
export function maskServerText(
  code: number,
  raw: Buffer,
  n: NoticeFields,
  mode: ServerTextMode,
): { raw: Buffer; message: string } {
  const severity = (SEVERITIES.has(n.severity) ? n.severity : 'ERROR') as Severity;
  const build = code === BackendCode.ErrorResponse ? errorResponse : noticeResponse;
  if (mode.redact) {
    const message = `gatehouse: the server's message is withheld because the statement reads masked data (SQLSTATE ${n.code || 'unknown'})`;
    return { raw: build({ severity, code: n.code || 'XX000', message }), message };
  }
  if (mode.detectors.length === 0) return { raw, message: n.message };
  const texts = [n.message, n.detail, n.hint, n.where, n.internalQuery];
  const masked = texts.map((t) => (t === undefined ? t : maskText(t, mode.detectors)));
  if (masked.every((t, i) => t === texts[i])) return { raw, message: n.message };
  const [message, detail, hint] = masked;
  return {
    raw: build({
      severity,
      code: n.code || 'XX000',
      message: message ?? '',
      ...(detail !== undefined && { detail }),
      ...(hint !== undefined && { hint }),
    }),
    message: message ?? '',
  };
}
