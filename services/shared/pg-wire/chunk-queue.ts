/**
 * The unread bytes of a stream as a short list of the chunks it arrived in. Reading a range that lies inside one
 * chunk returns a view of that chunk (no copy); only a range that spans chunks is copied, once, into a buffer of
 * exactly its size. Views share memory with the pushed chunks: callers must not modify a chunk after pushing it.
 *
 * The queue itself does not bound its size; its owner (a parser) checks message lengths against its limits before
 * waiting for more bytes, so the queue never holds more than one maximum-size message plus one chunk.
 */
export class ChunkQueue {
  #chunks: Buffer[] = [];
  #head = 0;
  #offset = 0;
  #length = 0;

  /** Number of unread bytes. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Byte at `index` (relative to the read position). The caller ensures `index < length`. */
  peekUInt8(index: number): number {
    let i = this.#head;
    let pos = this.#offset + index;
    for (;;) {
      const chunk = this.#chunks[i];
      if (chunk === undefined) throw new RangeError('ChunkQueue.peekUInt8 past the end');
      if (pos < chunk.length) return chunk[pos]!;
      pos -= chunk.length;
      i++;
    }
  }

  /** Big-endian int32 at `index` (relative to the read position). The caller ensures `index + 4 <= length`. */
  peekInt32BE(index: number): number {
    const first = this.#chunks[this.#head];
    const pos = this.#offset + index;
    if (first !== undefined && pos + 4 <= first.length) return first.readInt32BE(pos);
    return (
      (this.peekUInt8(index) << 24) |
      (this.peekUInt8(index + 1) << 16) |
      (this.peekUInt8(index + 2) << 8) |
      this.peekUInt8(index + 3) |
      0
    );
  }

  /** Removes and returns the next `n` bytes (`n <= length`): a view when they lie in one chunk, else one copy. */
  take(n: number): Buffer {
    if (n > this.#length) throw new RangeError('ChunkQueue.take past the end');
    this.#length -= n;
    const first = this.#chunks[this.#head]!;
    const start = this.#offset;
    if (start + n <= first.length) {
      const view = first.subarray(start, start + n);
      this.#advance(first, start + n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.#chunks[this.#head]!;
      const from = this.#offset;
      const count = Math.min(chunk.length - from, n - written);
      chunk.copy(out, written, from, from + count);
      written += count;
      this.#advance(chunk, from + count);
    }
    return out;
  }

  #advance(chunk: Buffer, newOffset: number): void {
    if (newOffset < chunk.length) {
      this.#offset = newOffset;
      return;
    }
    this.#chunks[this.#head] = EMPTY;
    this.#head++;
    this.#offset = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 16 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
