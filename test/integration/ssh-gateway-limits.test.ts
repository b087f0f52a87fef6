import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { Client, ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishUnavailableError } from '../../services/shared/log/errors.js';
import type { EventPublisher } from '../../services/shared/log/publisher.js';
import { collectEvents } from '../support/event-collector.js';
import type { EventCollector } from '../support/event-collector.js';
import { runSsh, startSshGatewayFixture } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';

/** A publisher that can be switched to refuse everything, as the real one does when Kafka is gone too long. */
class SwitchablePublisher implements EventPublisher {
  refuse = false;
  readonly #inner: EventPublisher;
  constructor(inner: EventPublisher) {
    this.#inner = inner;
  }
  #check(): void {
    if (this.refuse) throw new PublishUnavailableError(20_000);
  }
  publishBatched(record: Parameters<EventPublisher['publishBatched']>[0]): void {
    this.#check();
    this.#inner.publishBatched(record);
  }
  publishDurable(record: Parameters<EventPublisher['publishDurable']>[0]): Promise<void> {
    if (this.refuse) return Promise.reject(new PublishUnavailableError(20_000));
    return this.#inner.publishDurable(record);
  }
  assertAccepting(): void {
    this.#check();
    this.#inner.assertAccepting();
  }
  stats() {
    return this.#inner.stats();
  }
  close(timeoutMs?: number) {
    return this.#inner.close(timeoutMs);
  }
}

let fx: SshGatewayFixture;
let switchable: SwitchablePublisher | undefined;
let events: EventCollector;

function connect(password: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c)).once('error', reject);
    c.connect({ host: '127.0.0.1', port: fx.port, username: 'demo-ssh', password, readyTimeout: 20_000 });
  });
}

function exec(c: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => c.exec(command, (err, ch) => (err ? reject(err) : resolve(ch))));
}

beforeAll(async () => {
  fx = await startSshGatewayFixture({
    listener: { idleTimeoutMs: 1_500, maxSessions: 2 },
    wrapPublisher: (p) => (switchable = new SwitchablePublisher(p)),
  });
  events = collectEvents(fx.sessionsTopic);
});

afterAll(async () => {
  await events?.stop();
  await fx?.stop();
});

describe('SSH listener limits and failing closed', () => {
  it('closes an idle session with a message', async () => {
    const c = await connect(await fx.idp.issueToken({ user: 'idle-human' }));
    try {
      const ch = await exec(c, 'sleep 20');
      let stderr = '';
      ch.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exit = new Promise<unknown[]>((resolve) => ch.on('exit', (...a: unknown[]) => resolve(a)));
      const t0 = Date.now();
      expect((await exit)[0]).toBe(255);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(stderr).toBe('gatehouse: idle timeout: session closed\n');
    } finally {
      c.end();
    }
  });

  it('refuses logins beyond maxSessions with a clear reason, and serves again once one ends', async () => {
    const token = await fx.idp.issueToken({ user: 'busy-human' });
    const held = await Promise.all([connect(token), connect(token)]);
    try {
      const third = await runSsh(fx.port, 'demo-ssh', token, ['uname -s']);
      expect(third.status).toBe(255);
      expect(third.stderr).toContain('gatehouse: too many sessions on this gatehouse node');
      const refused = await events.waitFor((records) =>
        records.find(
          (r) => r.event.body.case === 'loginRefused' && r.event.body.value.reason === 'too_many_sessions',
        ),
      );
      expect(refused.event.protocol).toBe('ssh');
      expect(refused.event.identity).toBeUndefined();
    } finally {
      for (const c of held) c.end();
    }
    await sleep(500);
    const again = await runSsh(fx.port, 'demo-ssh', token, ['uname -s']);
    expect(again.stdout.toString()).toBe('Linux\n');
  });

  it('fails closed when the audit log refuses: no login, no command, no more output', async () => {
    const token = await fx.idp.issueToken({ user: 'audit-human' });
    switchable!.refuse = true;
    try {
      const login = await runSsh(fx.port, 'demo-ssh', token, ['uname -s']);
      expect(login.status).toBe(255);
      expect(login.stderr).toContain('gatehouse: audit log unavailable: gatehouse is not accepting sessions');
    } finally {
      switchable!.refuse = false;
    }

    const c = await connect(token);
    try {
      switchable!.refuse = true;
      const refused = await exec(c, 'uname -s');
      let text = '';
      refused.stderr.on('data', (b: Buffer) => (text += b.toString()));
      refused.on('data', (b: Buffer) => (text += b.toString()));
      const status = await new Promise<unknown>((resolve) =>
        refused.on('exit', (code: unknown) => resolve(code)),
      );
      expect(status).toBe(255);
      expect(text).toBe('gatehouse: audit log unavailable: request not forwarded\n');
    } finally {
      switchable!.refuse = false;
      c.end();
    }

    const c2 = await connect(token);
    try {
      const ch = await exec(c2, "sh -c 'echo before; sleep 1; echo after'");
      let out = '';
      let err = '';
      ch.stderr.on('data', (b: Buffer) => (err += b.toString()));
      ch.on('data', (b: Buffer) => {
        out += b.toString();
        switchable!.refuse = true; // Kafka goes away while the command runs
      });
      const status = await new Promise<unknown>((resolve) => ch.on('exit', (code: unknown) => resolve(code)));
      expect(status).toBe(255);
      expect(out).toBe('before\n');
      expect(err).toBe('gatehouse: audit log unavailable: session closed\n');
    } finally {
      switchable!.refuse = false;
      c2.end();
    }
  });
});
