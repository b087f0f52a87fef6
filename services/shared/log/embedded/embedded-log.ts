import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import type { EventConsumerOptions } from '../consumer.js';
import type { EventLog, LogConsumer, LogPublisher, LogReader, LogReaderOptions } from '../event-log.js';
import type { PublisherOptions } from '../publisher.js';
import type { TopicSpec } from '../topics.js';
import { EmbeddedConsumer } from './embedded-consumer.js';
import { EmbeddedPublisher } from './embedded-publisher.js';
import { EmbeddedReader } from './embedded-reader.js';
import { EmbeddedLogError } from './errors.js';
import { TopicFile } from './topic-file.js';
import type { StoredRecord } from './topic-file.js';

export type EmbeddedLogOptions = {
  /** Folder of the log: one file per topic, consumer positions under `groups/`. */
  dir: string;
  log: Logger;
};

const NAME_RE = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * The event log of the one-process mode (`npm start`): per topic one append-only, fsync'd file (`TopicFile`), and
 * the committed position of every consumer group in a small JSON file replaced atomically after each handled
 * batch, so a crash redelivers at most the batch in flight (at-least-once, as with Kafka). One partition per
 * topic, so per-key order holds. Waiting consumers are woken in process after each append. A lock file keeps a
 * second process off the same folder. No retention: the folder grows until `npm start -- --reset`.
 */
export class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  readonly dir: string;
  readonly #log: Logger;
  readonly #topics = new Map<string, Promise<TopicFile>>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #closed = false;

  private constructor(opts: EmbeddedLogOptions) {
    this.dir = opts.dir;
    this.#log = opts.log.child({ component: 'embedded-log' });
  }

  /** Opens (creating) the folder and takes its lock. */
  static async open(opts: EmbeddedLogOptions): Promise<EmbeddedEventLog> {
    await mkdir(join(opts.dir, 'groups'), { recursive: true });
    await takeLock(join(opts.dir, 'LOCK'));
    return new EmbeddedEventLog(opts);
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    for (const s of specs) await this.topic(s.name);
  }

  createPublisher(log: Logger, opts: Partial<PublisherOptions> = {}): LogPublisher {
    return new EmbeddedPublisher(this, log, opts);
  }

  createConsumer(log: Logger, opts: EventConsumerOptions): LogConsumer {
    return new EmbeddedConsumer(this, log, opts);
  }

  createReader(opts: LogReaderOptions): LogReader {
    return new EmbeddedReader(this, opts);
  }

  /** The file of a topic, opened (and recovered) on first use. */
  topic(name: string): Promise<TopicFile> {
    if (!NAME_RE.test(name))
      throw new EmbeddedLogError(`invalid topic name ${JSON.stringify(name.slice(0, 64))}`);
    let file = this.#topics.get(name);
    if (!file) {
      file = TopicFile.open(join(this.dir, `${name}.log`)).then(({ file: f, recovery }) => {
        if (recovery.truncatedBytes > 0)
          this.#log.warn({ topic: name, ...recovery }, 'cut off a torn tail (a write the crash interrupted)');
        return f;
      });
      this.#topics.set(name, file);
    }
    return file;
  }

  /** Appends to one topic, fsync'd, then wakes its readers. */
  async append(topic: string, records: readonly { key: Buffer; value: Buffer }[]): Promise<void> {
    if (this.#closed) throw new EmbeddedLogError('the embedded log is closed');
    const file = await this.topic(topic);
    await file.append(records);
    const waiters = this.#waiters.get(topic);
    if (waiters) {
      this.#waiters.delete(topic);
      for (const wake of waiters) wake();
    }
  }

  async read(topic: string, offset: bigint, maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    return (await this.topic(topic)).read(offset, maxRecords, maxBytes);
  }

  async end(topic: string): Promise<bigint> {
    return (await this.topic(topic)).end;
  }

  /** Resolves after the next append to one of `topics`, or after `timeoutMs`. */
  waitForAppend(topics: readonly string[], timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        for (const t of topics) this.#waiters.get(t)?.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      for (const t of topics) {
        let set = this.#waiters.get(t);
        if (!set) this.#waiters.set(t, (set = new Set()));
        set.add(wake);
      }
    });
  }

  /** The committed positions of a consumer group (next offset per topic). */
  async positions(groupId: string): Promise<Map<string, bigint>> {
    try {
      const text = await readFile(this.#groupFile(groupId), 'utf8');
      const parsed = JSON.parse(text) as Record<string, string>;
      return new Map(Object.entries(parsed).map(([t, o]) => [t, BigInt(o)]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new EmbeddedLogError(`cannot read the positions of group ${groupId}`, { cause: err });
    }
  }

  /** Replaces a group's positions atomically (write, fsync, rename). */
  async commit(groupId: string, positions: ReadonlyMap<string, bigint>): Promise<void> {
    const file = this.#groupFile(groupId);
    const tmp = `${file}.tmp`;
    await writeFile(
      tmp,
      JSON.stringify(Object.fromEntries([...positions].map(([t, o]) => [t, o.toString()]))),
    );
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  }

  #groupFile(groupId: string): string {
    return join(this.dir, 'groups', `${encodeURIComponent(groupId)}.json`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const set of this.#waiters.values()) for (const wake of set) wake();
    this.#waiters.clear();
    for (const file of this.#topics.values()) await (await file).close();
  }
}

/** Takes the folder's lock: a file with our pid; a lock whose process is gone is taken over. */
async function takeLock(path: string): Promise<void> {
  try {
    const other = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(other) && other > 0 && other !== process.pid && processAlive(other)) {
      throw new EmbeddedLogError(`the state folder is in use by process ${other} (another npm start?)`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeFile(path, `${process.pid}\n`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
