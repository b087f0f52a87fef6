/**
 * The bytes of a bytea value in text format: hex output (`\x4a6f`) or escape output (`Jo\\\351`), as the server
 * writes it for either `bytea_output`. Malformed input decodes as far as it can (this only feeds the detectors).
 */
export function decodeByteaText(raw: Buffer, start: number, end: number): Buffer {
  if (end - start >= 2 && raw[start] === 0x5c && raw[start + 1] === 0x78) {
    return Buffer.from(raw.toString('latin1', start + 2, end), 'hex');
  }
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = raw[i]!;
    if (b !== 0x5c) {
      out[n++] = b;
      continue;
    }
    if (raw[i + 1] === 0x5c && i + 1 < end) {
      out[n++] = 0x5c;
      i++;
    } else if (i + 3 < end && isOctal(raw[i + 1]!) && isOctal(raw[i + 2]!) && isOctal(raw[i + 3]!)) {
      out[n++] = ((raw[i + 1]! - 48) << 6) | ((raw[i + 2]! - 48) << 3) | (raw[i + 3]! - 48);
      i += 3;
    } else out[n++] = b;
  }
  return out.subarray(0, n);
}

function isOctal(b: number): boolean {
  return b >= 48 && b <= 55;
}
