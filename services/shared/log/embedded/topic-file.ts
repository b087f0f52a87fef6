import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** One record as stored: its offset in the topic, append time (ms since the epoch), key and value. */
export type StoredRecord = { offset: bigint; timestamp: number; key: Buffer; value: Buffer };

/** What opening a topic file found: how many records, and how many bytes of a torn tail it cut off. */
export type TopicRecovery = { records: number; truncatedBytes: number };

// A frame: u32 body length, u32 CRC-32 of the body, then the body:
// u64 offset, f64 timestamp (ms), u32 key length, key, value (the rest).
const HEADER = 8;
const BODY_FIXED = 8 + 8 + 4;

/** The bytes of one frame (pure). */
export function encodeFrame(r: StoredRecord): Buffer {
  const bodyLength = BODY_FIXED + r.key.length + r.value.length;
  const frame = Buffer.allocUnsafe(HEADER + bodyLength);
  frame.writeUInt32BE(bodyLength, 0);
  frame.writeBigUInt64BE(r.offset, HEADER);
  frame.writeDoubleBE(r.timestamp, HEADER + 8);
  frame.writeUInt32BE(r.key.length, HEADER + 16);
  r.key.copy(frame, HEADER + BODY_FIXED);
  r.value.copy(frame, HEADER + BODY_FIXED + r.key.length);
  frame.writeUInt32BE(crc32(frame.subarray(HEADER)), 4);
  return frame;
}

/**
 * Decodes the frame at `pos` of `buf` (pure). Returns undefined when the bytes there are not a whole, intact frame
 * (a torn or corrupt tail).
 */
export function decodeFrame(buf: Buffer, pos: number): { record: StoredRecord; next: number } | undefined {
  if (pos + HEADER > buf.length) return undefined;
  const bodyLength = buf.readUInt32BE(pos);
  const end = pos + HEADER + bodyLength;
  if (bodyLength < BODY_FIXED || end > buf.length) return undefined;
  const body = buf.subarray(pos + HEADER, end);
  if (crc32(body) !== buf.readUInt32BE(pos + 4)) return undefined;
  const keyLength = body.readUInt32BE(16);
  if (BODY_FIXED + keyLength > bodyLength) return undefined;
  return {
    record: {
      offset: body.readBigUInt64BE(0),
      timestamp: body.readDoubleBE(8),
      key: Buffer.from(body.subarray(BODY_FIXED, BODY_FIXED + keyLength)),
      value: Buffer.from(body.subarray(BODY_FIXED + keyLength)),
    },
    next: end,
  };
}

/**
 * One topic of the embedded log: a single append-only file of CRC-checked frames (one partition, so every key keeps
 * its order). Appends are written and fsync'd (`datasync`) before they resolve. Opening it scans the file, keeps
 * the byte position of every record, and cuts off a torn tail left by a crash mid-write (never acknowledged, since
 * the fsync had not returned). Not safe for two processes at once: the log's lock file sees to that.
 */
export class TopicFile {
  readonly #fh: FileHandle;
  /** Byte position of each record, by offset. */
  readonly #positions: number[];
  #size: number;
  #writing: Promise<void> = Promise.resolve();

  private constructor(fh: FileHandle, positions: number[], size: number) {
    this.#fh = fh;
    this.#positions = positions;
    this.#size = size;
  }

  static async open(path: string): Promise<{ file: TopicFile; recovery: TopicRecovery }> {
    const fh = await open(path, 'a+');
    try {
      const buf = await fh.readFile();
      const positions: number[] = [];
      let pos = 0;
      for (;;) {
        const frame = decodeFrame(buf, pos);
        if (!frame || frame.record.offset !== BigInt(positions.length)) break;
        positions.push(pos);
        pos = frame.next;
      }
      const truncatedBytes = buf.length - pos;
      if (truncatedBytes > 0) {
        await fh.truncate(pos);
        await fh.datasync();
      }
      return {
        file: new TopicFile(fh, positions, pos),
        recovery: { records: positions.length, truncatedBytes },
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The offset the next record gets (= the number of records). */
  get end(): bigint {
    return BigInt(this.#positions.length);
  }

  get bytes(): number {
    return this.#size;
  }

  /** Appends records (one write, one fsync); resolves with their offsets once they are on disk. Serialised. */
  append(records: readonly { key: Buffer; value: Buffer }[], now = Date.now()): Promise<bigint[]> {
    const run = this.#writing.then(async () => {
      const first = this.#positions.length;
      const frames = records.map((r, i) =>
        encodeFrame({ offset: BigInt(first + i), timestamp: now, key: r.key, value: r.value }),
      );
      const data = Buffer.concat(frames);
      try {
        await this.#fh.write(data, 0, data.length, this.#size);
        await this.#fh.datasync();
      } catch (err) {
        await this.#fh.truncate(this.#size).catch(() => undefined); // the next attempt rewrites the whole batch
        throw err;
      }
      let pos = this.#size;
      for (const f of frames) {
        this.#positions.push(pos);
        pos += f.length;
      }
      this.#size = pos;
      return frames.map((_, i) => BigInt(first + i));
    });
    this.#writing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Records from `offset` on: at most `maxRecords`, and no more bytes than `maxBytes` (at least one record). */
  async read(offset: bigint, maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    const from = Number(offset);
    if (from >= this.#positions.length) return [];
    const start = this.#positions[from]!;
    let last = from;
    while (
      last + 1 < this.#positions.length &&
      last + 1 - from < maxRecords &&
      (this.#positions[last + 2] ?? this.#size) - start <= maxBytes
    ) {
      last++;
    }
    const stop = this.#positions[last + 1] ?? this.#size;
    const buf = Buffer.allocUnsafe(stop - start);
    await this.#fh.read(buf, 0, buf.length, start);
    const out: StoredRecord[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const frame = decodeFrame(buf, pos);
      if (!frame) break;
      out.push(frame.record);
      pos = frame.next;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#writing;
    await this.#fh.close();
  }
}
