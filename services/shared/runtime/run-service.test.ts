import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { logLevelSchema, shutdownSchema } from '../config/sections.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { runService } from './run-service.js';
import type { RunnerIo, RunningService, ServiceSpec } from './run-service.js';

const schema = z.strictObject({
  name: z.string(),
  logLevel: logLevelSchema,
  shutdown: shutdownSchema(100),
});

type Behaviour = {
  buildThrows?: boolean;
  startThrows?: boolean;
  stop?: (drainMs: number) => Promise<void>;
  done?: Promise<void>;
};

function spec(b: Behaviour, seen: { drainMs?: number; started?: boolean }): ServiceSpec<typeof schema, true> {
  return {
    name: 'demo',
    usage: 'usage: gatehouse demo --config FILE\n',
    schema,
    nodeId: (config) => config.name,
    build: () => {
      if (b.buildThrows) throw new Error('no such key file');
      return {
        start: () => {
          if (b.startThrows) return Promise.reject(new Error('kafka unreachable'));
          seen.started = true;
          return Promise.resolve(true);
        },
      };
    },
    running: (): RunningService => ({
      stop: (drainMs) => {
        seen.drainMs = drainMs;
        return b.stop ? b.stop(drainMs) : Promise.resolve();
      },
      ...(b.done ? { done: b.done } : {}),
    }),
  };
}

function fakeIo() {
  const handlers = new Map<string, () => void>();
  const out = { stdout: '', stderr: '', exits: [] as ExitCode[] };
  const io: RunnerIo = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    onSignal: (signal, handler) => void handlers.set(signal, handler),
    exit: (code) => void out.exits.push(code),
    logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
  };
  return { io, out, signal: (name: string) => handlers.get(name)?.() };
}

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-runner-')), 'demo.yaml');
  writeFileSync(file, yaml);
  return file;
}

const GOOD = configFile('name: demo-1\nshutdown: { drainTimeoutMs: 250, exitTimeoutMs: 1000 }\n');

/** Lets the runner reach its wait for a signal. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('runService: one runner, one exit-code table', () => {
  it('exits 2 on bad usage, a missing or unreadable file, and a schema violation (every issue named)', async () => {
    const seen = {};
    for (const argv of [[], ['--frobnicate'], ['--config', '/nonexistent/demo.yaml']]) {
      const f = fakeIo();
      expect(await runService(spec({}, seen), argv, f.io)).toBe(EXIT.usage);
    }
    const f = fakeIo();
    const bad = configFile(
      'name: 7\nlogLevel: loud\nshutdown: { drainTimeoutMs: 5000, exitTimeoutMs: 1000 }\n',
    );
    expect(await runService(spec({}, seen), ['--config', bad], f.io)).toBe(EXIT.usage);
    expect(f.out.stderr).toContain('name:');
    expect(f.out.stderr).toContain('logLevel:');
    expect(f.out.stderr).toContain('shutdown.drainTimeoutMs: drainTimeoutMs must be below exitTimeoutMs');
  });

  it('prints the usage on --help and exits 0', async () => {
    const f = fakeIo();
    expect(await runService(spec({}, {}), ['--help'], f.io)).toBe(EXIT.ok);
    expect(f.out.stdout).toBe('usage: gatehouse demo --config FILE\n');
  });

  it('exits 3 when build or start fails (a dependency unavailable)', async () => {
    for (const b of [{ buildThrows: true }, { startThrows: true }]) {
      const f = fakeIo();
      expect(await runService(spec(b, {}), ['--config', GOOD], f.io)).toBe(EXIT.unavailable);
      expect(f.out.stderr).toMatch(/^gatehouse demo: could not start: /);
    }
  });

  it('drains on SIGTERM with the configured bound, then exits 0', async () => {
    const f = fakeIo();
    const seen: { drainMs?: number; started?: boolean } = {};
    const code = runService(spec({}, seen), ['-c', GOOD], f.io);
    await settle();
    expect(seen.started).toBe(true);
    f.signal('SIGTERM');
    expect(await code).toBe(EXIT.ok);
    expect(seen.drainMs).toBe(250);
    expect(f.out.exits).toEqual([EXIT.ok]);
  });

  it('exits 1 when the drain fails, and 130 on a second signal', async () => {
    const failing = fakeIo();
    const a = runService(
      spec({ stop: () => Promise.reject(new Error('unflushed')) }, {}),
      ['-c', GOOD],
      failing.io,
    );
    await settle();
    failing.signal('SIGINT');
    expect(await a).toBe(EXIT.failure);

    const twice = fakeIo();
    const b = runService(spec({ stop: () => new Promise(() => undefined) }, {}), ['-c', GOOD], twice.io);
    await settle();
    twice.signal('SIGTERM');
    twice.signal('SIGTERM');
    expect(await b).toBe(EXIT.interrupted);
    expect(twice.out.exits).toEqual([EXIT.interrupted]);
  });

  it('exits 1 when the drain overruns shutdown.exitTimeoutMs', async () => {
    const f = fakeIo();
    const code = runService(spec({ stop: () => new Promise(() => undefined) }, {}), ['-c', GOOD], f.io);
    await settle();
    const t0 = Date.now();
    f.signal('SIGTERM');
    expect(await code).toBe(EXIT.failure);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('drains and exits 1 on a fatal runtime error', async () => {
    const f = fakeIo();
    const seen: { drainMs?: number } = {};
    const done = Promise.reject(new Error('consumer crashed'));
    done.catch(() => undefined);
    expect(await runService(spec({ done }, seen), ['-c', GOOD], f.io)).toBe(EXIT.failure);
    expect(seen.drainMs).toBe(250);
  });
});
