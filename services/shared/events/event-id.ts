import { randomFillSync } from 'node:crypto';

/** Ids formatted per fill of the random pool. */
const BATCH = 256;
const LENGTH = 36;
const random = Buffer.alloc(16 * BATCH);
const text = Buffer.alloc(LENGTH * BATCH, '-');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
let ids = '';
let next = BATCH;

/** Formats the pool as `BATCH` UUIDs, one after the other, in `text` (the dashes stay where Buffer.alloc put them). */
function format(): void {
  randomFillSync(random);
  for (let id = 0; id < BATCH; id++) {
    let pos = LENGTH * id;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) pos++;
      let b = random[16 * id + i]!;
      if (i === 6)
        b = (b & 0x0f) | 0x40; // version 4
      else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10
      text[pos++] = HEX[b >> 4]!;
      text[pos++] = HEX[b & 0x0f]!;
    }
  }
  ids = text.toString('latin1');
}

/**
 * A random (version 4) UUID, like `crypto.randomUUID()` — from the same CSPRNG, drawn in batches — as one flat
 * string: `randomUUID` joins 20 strings (a tree of cons strings that is flattened again when the id is encoded).
 * Each fill of the pool is formatted as one string of 256 ids, and an id is a slice of it (V8 makes that a view
 * of the string, not a copy), so every frame of a session gets its id without a string of its own being built.
 */
export function eventId(): string {
  if (next === BATCH) {
    format();
    next = 0;
  }
  const at = LENGTH * next++;
  return ids.slice(at, at + LENGTH);
}
