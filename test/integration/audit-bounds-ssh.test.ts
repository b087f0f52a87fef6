import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshRecordBytes } from '../../services/gateway/ssh/channel-audit.js';
import { DEFAULT_PUBLISHER_OPTIONS } from '../../services/shared/log/publisher.js';
import { closedSessions, readTopic, reassemble, sessionStream } from '../support/audit-log.js';
import { runSsh, sshDirect, startSshGatewayNode } from '../support/ssh-gateway.js';
import type { SshGatewayNode } from '../support/ssh-gateway.js';
import { brokerCount, testKafka } from '../support/kafka.js';

const MAX_EVENT = 512 * 1024; // the default kafka.publisher.maxEventBytes
/** An SSH session's records are at most half a produce request (two full ones travel together). */
const SSH_RECORD = sshRecordBytes(MAX_EVENT, DEFAULT_PUBLISHER_OPTIONS.maxBatchBytes);
const TEN_MIB = 10 * 1024 * 1024;

let node: SshGatewayNode;
const file = `~/logs/bounds-${randomUUID().slice(0, 8)}.log`;
const small = `~/logs/bounds-${randomUUID().slice(0, 8)}.log`;
const EMAIL = 'line.without.end@example.org';

beforeAll(async () => {
  node = await startSshGatewayNode();
  // 10 MiB on one line, no newline anywhere, with an e-mail address in the middle (agents get it masked).
  const half = 5 * 1024 * 1024;
  const status = (
    await sshDirect(
      `mkdir -p ~/logs && { head -c ${half} /dev/zero | tr '\\0' a; printf ' ${EMAIL} '; ` +
        `head -c ${TEN_MIB - half - EMAIL.length - 2} /dev/zero | tr '\\0' b; } > ${file}`,
    )
  ).status;
  expect(status).toBe(0);
  // Random text (base64 of 37 500 random bytes: 50 000 characters): the publisher compresses produce requests (LZ4),
  // so a repeated letter would shrink below the topic's limit in the refusal test; this stays above it.
  expect((await sshDirect(`head -c 37500 /dev/urandom | base64 -w0 > ${small}`)).status).toBe(0);
}, 120_000);

afterAll(async () => {
  await sshDirect(`rm -f ${file} ${small}`);
  await node?.stop();
});

describe('bounded audit events over SSH (real OpenSSH, sshd, Kafka)', () => {
  it('a 10 MiB output line without newline is masked, delivered and recorded whole; another session runs alongside', async () => {
    const agent = await node.idp.issueToken({ user: `agent-${randomUUID().slice(0, 6)}`, agent: true });
    const [big, other] = await Promise.all([
      runSsh(node.port, 'demo-ssh', agent, [`cat ${file}`], { timeoutMs: 120_000 }),
      runSsh(node.port, 'demo-ssh', agent, ['uname -s']),
    ]);
    expect(other.status, other.stderr).toBe(0);
    expect(other.stdout.toString()).toBe('Linux\n');
    expect(big.status).toBe(0);
    const seen = big.stdout;
    expect(seen.includes(EMAIL)).toBe(false); // masked across chunk boundaries
    expect(seen.length).toBeGreaterThan(TEN_MIB - 100);
    expect(seen.includes(Buffer.alloc(5 * 1024 * 1024 - 64, 'a'))).toBe(true);
    expect(seen.includes(Buffer.alloc(5 * 1024 * 1024 - 64, 'b'))).toBe(true);
    expect(seen.includes(0x0a)).toBe(false);

    const sessionOf = (events: Parameters<typeof closedSessions>[0], text: string) =>
      events.find((e) => e.body.case === 'request' && e.body.value.text === text)?.sessionId;
    const read = await readTopic(node.sessionsTopic, (events) => {
      const closed = closedSessions(events);
      const a = sessionOf(events, `cat ${file}`);
      const b = sessionOf(events, 'uname -s');
      return a !== undefined && b !== undefined && closed.has(a) && closed.has(b);
    });
    for (const size of read.sizes) expect(size).toBeLessThanOrEqual(SSH_RECORD);
    expect(Math.max(...read.sizes)).toBeGreaterThan(SSH_RECORD - 70 * 1024); // full records (a frame is ≤ 64 KiB)
    for (const text of [`cat ${file}`, 'uname -s']) {
      const stream = sessionStream(read.events, sessionOf(read.events, text)!);
      expect(stream.map((e) => Number(e.seq))).toEqual(stream.map((_, i) => i + 1));
      expect(stream.at(-1)?.body.case).toBe('sessionClosed');
    }
    const stream = reassemble(sessionStream(read.events, sessionOf(read.events, `cat ${file}`)!));
    const stdout = Buffer.concat(
      stream.flatMap((e) =>
        e.body.case === 'response' && e.body.value.frame === 'stdout' ? [e.body.value.data] : [],
      ),
    );
    expect(stdout.equals(seen)).toBe(true); // the log holds exactly what the client saw
  });

  it('a record the broker refuses ends only its session: stderr line, exit status 255, marker event', async () => {
    const admin = testKafka('test-bounds-ssh-admin').admin();
    await admin.connect();
    const rf = Math.min(3, brokerCount());
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: node.sessionsTopic,
          configEntries: [
            { name: 'max.message.bytes', value: '40000' }, // below the 64 KiB output events
            { name: 'min.insync.replicas', value: String(rf >= 3 ? 2 : 1) },
          ],
        },
      ],
    });
    await admin.disconnect();
    await sleep(2_000);
    const agent = await node.idp.issueToken({ user: `agent-${randomUUID().slice(0, 6)}`, agent: true });
    const [big, other] = await Promise.all([
      // One 50 kB output event, then `tail -f` keeps the session open: the refusal (which arrives after the
      // batch) is what ends it.
      runSsh(node.port, 'demo-ssh', agent, [`tail -f ${small}`], { timeoutMs: 60_000 }),
      runSsh(node.port, 'demo-ssh', agent, ['uname -a']),
    ]);
    expect(big.stderr).toContain(
      'gatehouse: the audit log refused a record of this session (MESSAGE_TOO_LARGE); session closed',
    );
    expect(big.status).toBe(255);
    expect(big.stdout.length).toBeLessThanOrEqual(50_000);
    expect(other.status).toBe(0);
    expect(other.stdout.toString()).toMatch(/^Linux /);
    expect(node.gateway.publisher.stats().unavailableForMs).toBe(0);
    const ready = await fetch(`http://127.0.0.1:${node.gateway.healthPort}/readyz`);
    expect(ready.status).toBe(200);

    const read = await readTopic(node.sessionsTopic, (events) => {
      const closed = closedSessions(events);
      const failed = events.filter((e) => e.body.case === 'auditFailure').map((e) => e.sessionId);
      return (
        failed.some((id) => closed.has(id)) &&
        events.some(
          (e) => e.body.case === 'request' && e.body.value.text === 'uname -a' && closed.has(e.sessionId),
        )
      );
    });
    const failure = read.events.find((e) => e.body.case === 'auditFailure');
    if (failure?.body.case !== 'auditFailure') throw new Error('no audit failure marker');
    expect(failure.body.value.error).toBe('MESSAGE_TOO_LARGE');
    expect(failure.body.value.refusedSeqs.length).toBeGreaterThanOrEqual(1);
    const otherId = read.events.find(
      (e) => e.body.case === 'request' && e.body.value.text === 'uname -a',
    )!.sessionId;
    const otherStream = sessionStream(read.events, otherId);
    expect(otherStream.map((e) => Number(e.seq))).toEqual(otherStream.map((_, i) => i + 1));
    const seen = Buffer.concat(
      otherStream.flatMap((e) =>
        e.body.case === 'response' && e.body.value.frame === 'stdout' ? [e.body.value.data] : [],
      ),
    );
    expect(seen.equals(other.stdout)).toBe(true);
  });
});
