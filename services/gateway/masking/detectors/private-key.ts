import { byteClass } from '../detector.js';
import type { Detector } from '../detector.js';
import type { SpanList } from '../span-list.js';

const BEGIN = Buffer.from('-----BEGIN ');
const DASHES = Buffer.from('-----');
/** What a PEM body and its headers consist of, including JSON-escaped line breaks (\n, \r as two bytes). */
const BODY = byteClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=:,- \t\r\n');
const MAX_LABEL = 48;

/**
 * PEM private keys: "-----BEGIN <label>-----" where the label ends in "PRIVATE KEY" (RSA, EC, DSA, OPENSSH,
 * ENCRYPTED, PKCS#8) or is "PGP PRIVATE KEY BLOCK", through the matching "-----END <label>-----". Without an END
 * line (a truncated value) the match runs to the end of the key body, stopping at the first byte that cannot be
 * part of it, so it never swallows a quote or a lone backslash of an enclosing JSON string.
 */
export const privateKeyDetector: Detector = {
  name: 'private_key',
  replacement: Buffer.from('REDACTED_PRIVATE_KEY'),
  needles: [BEGIN],
  find(buf: Buffer, from: number, to: number, out: SpanList, id: number): void {
    let at = buf.indexOf(BEGIN, from);
    // Where each label's END line was last found (-1: nowhere after the last search), so many BEGIN lines without
    // an END do not each rescan the rest of the value.
    let ends: Map<string, number> | null = null;
    while (at !== -1 && at + BEGIN.length < to) {
      const labelStart = at + BEGIN.length;
      const close = buf.indexOf(DASHES, labelStart);
      if (close === -1 || close >= to || close - labelStart > MAX_LABEL) {
        at = buf.indexOf(BEGIN, at + 1);
        continue;
      }
      const label = buf.toString('latin1', labelStart, close);
      if (!label.endsWith('PRIVATE KEY') && label !== 'PGP PRIVATE KEY BLOCK') {
        at = buf.indexOf(BEGIN, close);
        continue;
      }
      const endMarker = Buffer.from(`-----END ${label}-----`, 'latin1');
      ends ??= new Map();
      let endAt = ends.get(label);
      if (endAt === undefined || (endAt !== -1 && endAt < close)) {
        endAt = buf.indexOf(endMarker, close + DASHES.length);
        ends.set(label, endAt);
      }
      let end: number;
      if (endAt !== -1 && endAt + endMarker.length <= to) {
        end = endAt + endMarker.length;
      } else {
        end = close + DASHES.length;
        while (end < to) {
          const b = buf[end]!;
          if (BODY[b] === 1) end++;
          else if (b === 0x5c && (buf[end + 1] === 0x6e || buf[end + 1] === 0x72) && end + 1 < to) end += 2;
          else break;
        }
      }
      out.add(at, end, id);
      at = buf.indexOf(BEGIN, end);
    }
  },
};
