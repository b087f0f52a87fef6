import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { Client } from 'ssh2';
import { decodeRecord } from '../../services/shared/events/codec.js';
import type { Event } from '../../services/shared/events/codec.js';
import { EventConsumer } from '../../services/shared/log/consumer.js';
import { startSshGatewayFixture } from './ssh-gateway.js';
import type { SshGatewayFixture } from './ssh-gateway.js';
import { testKafka, testLogger } from './kafka.js';

/**
 * An SSH gateway fixture plus a reader of everything it publishes, for the end-to-end SSH tests: per-test users
 * (`token(name)`), their recorded sessions (`eventsOf(name, done)`) and a node ssh2 client (`connect`).
 */
export type SshTestBed = {
  fx: SshGatewayFixture;
  /** Every record value published to the fixture's sessions topic so far. */
  raw: Buffer[];
  /** A suffix unique to this test file's run, appended to user names. */
  run: string;
  /** A token for a fresh user (each test has its own subject, so its sessions are easy to find in the log). */
  token: (name: string, opts?: { agent?: boolean; groups?: string[] }) => Promise<string>;
  /** The recorded events of the sessions of `name`, once `done(events)` holds (or after 30 s). */
  eventsOf: (name: string, done: (events: Event[]) => boolean) => Promise<Event[]>;
  /** The node ssh2 client through the gateway (for what OpenSSH cannot script: signals, resizes, forwards). */
  connect: (user: string, password: string) => Promise<Client>;
  stop: () => Promise<void>;
};

export async function startSshTestBed(): Promise<SshTestBed> {
  const raw: Buffer[] = [];
  const run = randomUUID().slice(0, 6);
  const fx = await startSshGatewayFixture();
  let consumer: EventConsumer | undefined;
  try {
    // A fresh topic's metadata may lag on some brokers: retry the subscription until it takes.
    for (let attempt = 1; ; attempt++) {
      consumer = new EventConsumer(testKafka('ssh-test-reader'), testLogger, {
        groupId: `ssh-reader-${run}-${attempt}`,
        topics: [fx.sessionsTopic],
      });
      try {
        await consumer.start((records) => {
          for (const r of records) raw.push(r.value);
          return Promise.resolve();
        });
        break;
      } catch (err) {
        await consumer.kafkaConsumer.disconnect().catch(() => undefined);
        if (attempt >= 5) throw err;
        await sleep(1_000);
      }
    }
  } catch (err) {
    await fx.stop();
    throw err;
  }
  const reader = consumer;
  return {
    fx,
    raw,
    run,
    token: (name, opts = {}) =>
      fx.idp.issueToken({
        user: `${name}-${run}`,
        agent: opts.agent ?? false,
        groups: opts.groups ?? (opts.agent ? ['agents'] : ['engineering']),
      }),
    eventsOf: async (name, done) => {
      const sub = `${name}-${run}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const seen = new Set<string>();
        const events = raw
          .flatMap((b) => decodeRecord(b))
          .filter((e) => e.identity?.sub === sub && !seen.has(e.eventId) && seen.add(e.eventId));
        // Sessions in the order they started, each in sequence order.
        const started = new Map<string, bigint>();
        for (const e of events) {
          const t = started.get(e.sessionId);
          if (t === undefined || e.tsMicros < t) started.set(e.sessionId, e.tsMicros);
        }
        events.sort((a, b) => {
          if (a.sessionId === b.sessionId) return Number(a.seq - b.seq);
          return started.get(a.sessionId)! < started.get(b.sessionId)! ? -1 : 1;
        });
        if (done(events) || Date.now() > deadline) return events;
        await sleep(200);
      }
    },
    connect: (user, password) =>
      new Promise((resolve, reject) => {
        const c = new ssh2.Client();
        c.once('ready', () => resolve(c)).once('error', reject);
        c.connect({ host: '127.0.0.1', port: fx.port, username: user, password, readyTimeout: 20_000 });
      }),
    stop: async () => {
      await reader?.stop();
      await fx.stop();
    },
  };
}

export const closedCount = (events: Event[]) => events.filter((e) => e.body.case === 'sessionClosed').length;
export const closed = (events: Event[]) => closedCount(events) > 0;

export function responses(events: Event[], frame: string) {
  return events.flatMap((e) =>
    e.body.case === 'response' && e.body.value.frame === frame ? [e.body.value] : [],
  );
}

/** Strips OpenSSH's own notices (host key warning, connection closed) from captured stderr. */
export function clientStderr(stderr: string): string {
  return stderr
    .split(/\r?\n/)
    .filter((l) => l !== '' && !/^Warning: Permanently added|^Connection to .* closed\.$/.test(l))
    .join('\n');
}
