import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { CompressionTypes } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { registerLz4Codec } from './lz4-codec.js';

/**
 * patches/kafkajs+2.2.4.patch, applied by `npm ci`'s postinstall (patch-package). These tests fail when the patch is
 * not applied (or, for the checksum, when @node-rs/crc32's native binary did not install).
 */
const require = createRequire(import.meta.url);

describe('kafkajs record-batch CRC32C', () => {
  type Crc = ((b: Buffer) => number) & { implementation?: string };
  const patched = require('kafkajs/src/protocol/recordBatch/crc32C') as Crc;
  const javascript = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

  // The JavaScript loop it replaces was 14 % of the gateway's CPU on a 50 MB SSH output.
  it('is the native implementation', () => {
    expect(patched.implementation).toBe('native');
  });

  it('gives the CRC32C check value and agrees with kafkajs own loop', () => {
    expect(patched(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(patched(Buffer.alloc(0))).toBe(0);
    for (const n of [1, 7, 8, 63, 64, 65, 4096, 100_003]) {
      const b = randomBytes(n);
      expect(patched(b)).toBe(javascript(b));
      expect(patched(b.subarray(3))).toBe(javascript(b.subarray(3)));
    }
  });
});

describe('kafkajs request queue', () => {
  type Queue = {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    scheduleCheckPendingRequests(): void;
  };
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (
    o: Record<string, unknown>,
  ) => Queue;
  const logger = {
    debug: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    info: () => undefined,
  };
  const queue = () =>
    new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, clientId: 't', broker: 'b', logger });

  it('arms no timer when idle, and still checks pending or throttled requests', () => {
    const idle = queue();
    idle.scheduleCheckPendingRequests();
    expect(idle.throttleCheckTimeoutId).toBeNull(); // kafkajs 2.2.4 arms a 1 ms timer here, forever

    const waiting = queue();
    waiting.pending.push({});
    waiting.scheduleCheckPendingRequests();
    expect(waiting.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(waiting.throttleCheckTimeoutId!);

    const throttled = queue();
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(throttled.throttleCheckTimeoutId!);
  });
});

describe('kafkajs produce request encoding', () => {
  type Encoder = {
    buf: Buffer;
    offset: number;
    buffer: Buffer;
    size(): number;
    writeString(s: string | null): Encoder;
    writeInt16(n: number): Encoder;
    writeInt32(n: number): Encoder;
    writeArray(a: unknown[]): Encoder;
    writeEncoder(e: Encoder): Encoder;
  };
  type EncoderClass = new (initialSize?: number) => Encoder;
  type Message = {
    key?: string | Buffer | null;
    value: string | Buffer | null;
    timestamp?: string;
    headers?: object;
  };
  type TopicData = {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: Message[] }[];
  }[];
  type ProduceArgs = {
    acks: number;
    timeout: number;
    transactionalId?: string | null;
    producerId?: unknown;
    producerEpoch?: number;
    compression?: number;
    topicData: TopicData;
  };
  const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const Long = require('kafkajs/src/utils/long.js') as {
    fromInt(n: number): unknown;
    fromValue(n: number): unknown;
  };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => Encoder;
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
    RecordBatch: (b: object) => Promise<Encoder>;
  };
  const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (a: ProduceArgs) => {
    encode(requestHeader?: Buffer): Promise<Encoder>;
  };
  const produceV7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as typeof produceV3;
  const createRequest = require('kafkajs/src/protocol/request.js') as (r: object) => Promise<Encoder>;

  /** kafkajs 2.2.4's own produce v3 encoding (src/protocol/requests/produce/v3/request.js, unpatched). */
  async function encodeNested(a: ProduceArgs): Promise<Buffer> {
    const { transactionalId = null, producerId = Long.fromInt(-1), producerEpoch = 0 } = a;
    const topics: Encoder[] = [];
    for (const { topic, partitions } of a.topicData) {
      const encoded: Encoder[] = [];
      for (const { partition, messages, firstSequence } of partitions) {
        const dateNow = Date.now();
        const stamps = messages
          .map((m) => m.timestamp)
          .filter((t) => t != null)
          .sort();
        const timestamps = stamps.length === 0 ? [dateNow] : stamps;
        const firstTimestamp = timestamps[0]!;
        const records = messages.map((m, i) =>
          Record({
            ...m,
            offsetDelta: i,
            timestampDelta: Number(m.timestamp || dateNow) - Number(firstTimestamp),
          }),
        );
        const batch = await RecordBatch({
          compression: a.compression,
          records,
          firstTimestamp,
          maxTimestamp: timestamps.at(-1),
          producerId,
          producerEpoch,
          firstSequence,
          transactional: !!transactionalId,
          lastOffsetDelta: records.length - 1,
        });
        encoded.push(new Encoder().writeInt32(partition).writeInt32(batch.size()).writeEncoder(batch));
      }
      topics.push(new Encoder().writeString(topic).writeArray(encoded));
    }
    return new Encoder()
      .writeString(transactionalId)
      .writeInt16(a.acks)
      .writeInt32(a.timeout)
      .writeArray(topics).buffer;
  }

  const messages = (n: number): Message[] =>
    Array.from({ length: n }, (_, i) => ({
      key: i % 3 === 0 ? `session-${i}` : i % 3 === 1 ? randomBytes(16) : null,
      value: randomBytes([0, 1, 63, 64, 127, 128, 16_383, 16_384, 70_001][i % 9]!),
    }));
  const cases: [string, ProduceArgs][] = [
    [
      'one partition, idempotent',
      {
        acks: -1,
        timeout: 30_000,
        producerId: Long.fromValue(4_000_000_001),
        producerEpoch: 3,
        topicData: [
          { topic: 'sessions', partitions: [{ partition: 2, firstSequence: 1_234, messages: messages(20) }] },
        ],
      },
    ],
    [
      'topics, partitions, odd messages, transactional',
      {
        acks: 1,
        timeout: 5_000,
        transactionalId: 'tx-1',
        topicData: [
          {
            topic: 'a',
            partitions: [
              { partition: 0, messages: messages(3) },
              {
                partition: 5,
                firstSequence: 7,
                messages: [
                  { key: 'k', value: 'a string value é' },
                  { key: null, value: null },
                  { key: 'h', value: randomBytes(300), headers: { trace: 'x', many: ['1', '2'] } },
                  { key: 'ts', value: randomBytes(10), timestamp: '1700000000123' },
                ],
              },
            ],
          },
          { topic: 'b-topic', partitions: [{ partition: 1, messages: messages(9) }] },
        ],
      },
    ],
  ];

  registerLz4Codec();
  const compressed = cases.flatMap(([name, args]): [string, ProduceArgs][] => [
    [`${name}, LZ4`, { ...args, compression: CompressionTypes.LZ4 }],
    [`${name}, gzip`, { ...args, compression: CompressionTypes.GZIP }],
  ]);

  it.each([...cases, ...compressed])(
    'gives the bytes of kafkajs own nested encoders (%s)',
    async (_name, args) => {
      const now = vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
      try {
        for (const version of [produceV3, produceV7]) {
          const flat = await version(args).encode();
          expect(flat.buffer.equals(await encodeNested(args))).toBe(true);
        }
      } finally {
        now.mockRestore();
      }
    },
  );

  // Unpatched, each nesting level copied the request into a zero-filled buffer of the next power of two (a 1 MB
  // produce request was allocated and copied about seven times).
  it('builds a produce request in one buffer of its exact size, size and header included', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000); // the batch's timestamps
    const args = cases[0]![1];
    const payload = await produceV3(args).encode();
    expect(payload.buf.length).toBe(payload.offset);
    const lz4 = await produceV3({ ...args, compression: CompressionTypes.LZ4 }).encode();
    expect(lz4.buf.length).toBe(lz4.offset); // compressed too
    const expected = new Encoder()
      .writeInt16(0)
      .writeInt16(7)
      .writeInt32(42)
      .writeString('gatehouse')
      .writeEncoder(payload);
    const request = async (encode: (header: Buffer) => Promise<Encoder>): Promise<Encoder> => {
      const r = await createRequest({
        correlationId: 42,
        clientId: 'gatehouse',
        request: { apiKey: 0, apiVersion: 7, encode },
      });
      expect(r.buf.length).toBe(r.offset);
      expect(r.buffer.readInt32BE(0)).toBe(expected.size());
      expect(r.buffer.subarray(4).equals(expected.buffer)).toBe(true);
      return r;
    };
    // The produce request writes itself behind the header request.js hands it: not copied again.
    let produced: Encoder | undefined;
    expect(await request(async (header) => (produced = await produceV7(args).encode(header)))).toBe(produced);
    // Any other request's payload is copied once.
    await request(() => Promise.resolve(payload));
    vi.restoreAllMocks();
  });
});
