import kafkajs, { CompressionTypes } from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';

/**
 * Kafka's LZ4 codec for kafkajs (which ships none): record batches compressed as one LZ4 frame (the format Kafka's
 * own clients write since message format v1, KIP-57), by `lz4-napi` (lz4_flex, native, prebuilt in its npm
 * package). Installed by every `createKafka` (kafkajs keeps one codec table per process), so every client of every
 * service — the gateway's publisher, the recorder and approval consumers, the CLI's readers — can write and read
 * such batches.
 *
 * Decompression is bounded: a batch comes from a principal with Write on the topic, and LZ4 expands up to ~255×,
 * so a 1 MiB record batch could otherwise become a quarter of a gigabyte in a consumer. The frame's block headers
 * are read first (each block expands to at most the frame's declared block size); a frame that could expand past
 * `MAX_DECOMPRESSED_BYTES`, or that is not exactly one well-formed frame, is refused before any output is
 * allocated. Gatehouse's publisher never writes a produce request above `publisher.maxBatchBytes` (900 KiB by
 * default, at most the topic's `max.message.bytes`), so the bound is far above any batch it writes.
 *
 * Not bounded here: the sum over one fetch. A fetch of `maxBytesPerPartition` compressed bytes may hold many batches
 * each just under the bound (LZ4 expands up to ~255×), and kafkajs decodes a fetch whole; only a principal with
 * Write on the topics (gateways) can write such batches. A per-fetch budget of decompressed bytes needs a consumer
 * that decodes lazily; kafkajs does not.
 */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

const MAGIC = 0x184d2204;
/** Block maximum sizes by the BD byte's bits 4-6 (LZ4 frame format 1.6.x): 4 = 64 KiB … 7 = 4 MiB. */
const BLOCK_MAX: Readonly<Record<number, number>> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};

export class Lz4FrameError extends Error {
  override readonly name = 'Lz4FrameError';
}

/**
 * The most bytes one LZ4 frame can decompress to, from its header and block headers alone (no decompression);
 * throws `Lz4FrameError` unless `frame` is exactly one well-formed frame.
 */
export function lz4FrameBound(frame: Uint8Array): number {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const need = (pos: number, n: number) => {
    if (pos + n > frame.length) throw new Lz4FrameError('LZ4 frame truncated');
  };
  need(0, 7);
  if (view.getUint32(0, true) !== MAGIC) throw new Lz4FrameError('not an LZ4 frame (magic number)');
  const flg = frame[4]!;
  const bd = frame[5]!;
  if (flg >> 6 !== 1 || (flg & 0b10) !== 0 || (bd & 0x8f) !== 0)
    throw new Lz4FrameError('LZ4 frame descriptor not supported');
  const blockMax = BLOCK_MAX[(bd >> 4) & 0x7];
  if (blockMax === undefined) throw new Lz4FrameError('LZ4 frame block size not supported');
  const blockChecksum = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  let pos = 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0) + 1; // content size, dict id, HC
  let bound = 0;
  for (;;) {
    need(pos, 4);
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break; // EndMark
    const size = word & 0x7fffffff;
    if (size > blockMax) throw new Lz4FrameError('LZ4 block larger than the frame allows');
    pos += size + (blockChecksum ? 4 : 0);
    bound += blockMax;
    if (bound > MAX_DECOMPRESSED_BYTES)
      throw new Lz4FrameError(
        `LZ4 frame may expand past ${MAX_DECOMPRESSED_BYTES} bytes: refused before decompressing`,
      );
  }
  pos += contentChecksum ? 4 : 0;
  if (pos !== frame.length) throw new Lz4FrameError('LZ4 frame followed by other bytes (one frame expected)');
  return bound;
}

export function lz4Compress(data: Buffer): Buffer {
  return compressFrameSync(data);
}

/** Bytes of a produce request's records sampled by `lz4Pays`. */
const SAMPLE_BYTES = 16 * 1024;

/**
 * Whether LZ4 pays for these record values: their first 16 KiB must shrink to 7/8 or less. Audit frames of SQL,
 * HTTP and tool calls shrink 4-10×; bulk output that is already dense (compressed files, base64 of random bytes)
 * does not shrink at all, and LZ4 would still cost ~5 ms of CPU per 900 KiB request (lz4_flex on incompressible
 * input, 178 MB/s here) — a third of the SSH path's throughput (`npm run bench:ssh -- --mb 50`). The sample costs
 * ~0.1 ms at most.
 */
export function lz4Pays(values: readonly Buffer[]): boolean {
  const parts: Buffer[] = [];
  let size = 0;
  for (const v of values) {
    if (size >= SAMPLE_BYTES) break;
    const part = v.length > SAMPLE_BYTES - size ? v.subarray(0, SAMPLE_BYTES - size) : v;
    parts.push(part);
    size += part.length;
  }
  const sample = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  return compressFrameSync(sample).length <= (sample.length * 7) / 8;
}

/** Decompresses one LZ4 frame, refused (`Lz4FrameError`) when it could expand past `MAX_DECOMPRESSED_BYTES`. */
export function lz4Decompress(frame: Buffer): Buffer {
  lz4FrameBound(frame);
  return decompressFrameSync(frame);
}

let onRefused: ((err: Lz4FrameError) => void) | undefined;

export type Lz4Codec = {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
};

/**
 * Installs the codec in kafkajs (its codec table is per process; idempotent). `refused` hears of every batch the
 * codec refuses to decompress. kafkajs refuses the whole fetch response that holds it and fetches again from the same
 * offsets, so the consumer stops there — on the partitions it fetches from that broker — delivering nothing after
 * it and skipping nothing, until an operator has examined the batch and moved the partition past it
 * (`kafka-delete-records`); the caller logs why (test/integration/publisher-compression-forged.test.ts).
 */
export function registerLz4Codec(refused?: (err: Lz4FrameError) => void): void {
  if (refused) onRefused = refused;
  kafkajs.CompressionCodecs[CompressionTypes.LZ4] = (): Lz4Codec => ({
    // Synchronous: a 900 KiB produce request compresses in well under a millisecond, less than a thread hop costs.
    compress: (encoder: { buffer: Buffer }) => Promise.resolve(lz4Compress(encoder.buffer)),
    decompress: (buffer: Buffer) => {
      try {
        return Promise.resolve(lz4Decompress(buffer));
      } catch (err) {
        if (err instanceof Lz4FrameError) onRefused?.(err);
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  });
}
