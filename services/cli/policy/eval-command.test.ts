import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPolicy } from './run-policy.js';

const PREBUILT = new URL('../../../policies/prebuilt/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An SSH exec by a person, as `gatehouse policy input` prints one (and an editor's `$schema`). */
const INPUT = {
  $schema: '../policies/input.schema.json',
  identity: {
    sub: 'alice',
    email: 'alice@example.test',
    groups: ['engineering'],
    agent: false,
    issuer: 'http://127.0.0.1:19400',
    client_id: 'gatehouse-cli',
  },
  connection: { name: 'demo-ssh', protocol: 'ssh', tags: { env: 'demo' } },
  session: { id: 's-1', node: 'local-gw-1', client_addr: '127.0.0.1', started_at: 1_767_225_600 },
  request: {
    kind: 'ssh',
    fingerprint: 'f'.repeat(64),
    ssh: { type: 'exec', command: 'uname -a', pty: false },
  },
  time: { unix: 1_767_225_900, weekday: 'Thursday', hour: 0 },
  grants: [],
};

async function evalFile(content: string, bundle = PREBUILT) {
  const file = join(dir, `input-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, content);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPolicy(['eval', '--input', file, '--bundle', bundle], {
    env: {},
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, stdout: out.join(''), stderr: err.join(''), file };
}

describe('gatehouse policy eval --input FILE', () => {
  it('evaluates a valid input (its editor $schema dropped) with the bundle', async () => {
    const r = await evalFile(JSON.stringify(INPUT));
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { revision: string; failedClosed: boolean; decision: unknown };
    expect(result.revision).toBe(readFileSync(join(PREBUILT, 'revision'), 'utf8').trim());
    expect(result.failedClosed).toBe(false);
    expect(result.decision).toMatchObject({ allow: true });
    expect(r.code).toBe(0);
  }, 30_000);

  it('refuses a malformed input before loading any bundle: every problem with its path, exit 2', async () => {
    const bad = {
      ...INPUT,
      identity: { ...INPUT.identity, groups: 'engineering' },
      session: { ...INPUT.session, started_at: undefined },
      request: { ...INPUT.request, ssh: { type: 'exec', command: 'uname -a', pty: false, tty: true } },
      time: { ...INPUT.time, weekday: 'thursday' },
    };
    const r = await evalFile(JSON.stringify(bad), join(dir, 'no-such-bundle'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `gatehouse policy eval: ${r.file} is not a valid policy input (4 problems; schema policies/input.schema.json):\n` +
        '  input.identity.groups: must be array\n' +
        '  input.session.started_at: is required\n' +
        '  input.request.ssh.tty: is not a field of the policy input here (misspelt?)\n' +
        '  input.time.weekday: must be one of "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"\n',
    );
  });

  it('says where a file is not JSON, exit 2', async () => {
    const r = await evalFile('{"identity": {,}');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gatehouse policy eval: .*input-\w+\.json: not JSON: .*position 14/);
  });

  it('refuses an unreadable file as bad usage', async () => {
    const err: string[] = [];
    const code = await runPolicy(['eval', '--input', join(dir, 'missing.json')], {
      env: {},
      stdout: () => undefined,
      stderr: (t) => err.push(t),
    });
    expect(code).toBe(2);
    expect(err.join('')).toContain(`--input ${join(dir, 'missing.json')} is not a readable file`);
  });
});
