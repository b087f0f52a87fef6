import { randomFillSync } from 'node:crypto';

/** Ids drawn from one fill of the random pool. */
const BATCH = 256;
const random = Buffer.alloc(16 * BATCH);
let next = BATCH;
const text = Buffer.alloc(36, '-');
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A random (version 4) UUID, like `crypto.randomUUID()` — from the same CSPRNG, drawn in batches — but written into
 * one 36-byte buffer and read back as one flat string: `randomUUID` joins 20 strings (a tree of cons strings that
 * is flattened again when the id is encoded), and every frame of a session gets one.
 */
export function eventId(): string {
  if (next === BATCH) {
    randomFillSync(random);
    next = 0;
  }
  const at = 16 * next++;
  let pos = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) pos++; // the dashes stay where Buffer.alloc put them
    let b = random[at + i]!;
    if (i === 6)
      b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10
    text[pos++] = HEX[b >> 4]!;
    text[pos++] = HEX[b & 0x0f]!;
  }
  return text.toString('latin1', 0, 36);
}
