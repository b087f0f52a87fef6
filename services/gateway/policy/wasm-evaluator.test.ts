import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicySync } from './opa-wasm.js';
import { wasmApi } from './wasm-api.js';
import { SESSION_PARTS_MAX_ENTRIES, WasmEvaluator } from './wasm-evaluator.js';
import type { RawEvaluation, SplitInput } from './wasm-evaluator.js';

/** The committed default bundle (policies/prebuilt): no opa binary needed. */
const PREBUILT = join(import.meta.dirname, '..', '..', '..', 'policies', 'prebuilt');

async function evaluator(): Promise<WasmEvaluator> {
  const wasm = readFileSync(join(PREBUILT, 'policy.wasm'));
  const module = await wasmApi.compile(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const policy = loadPolicySync(module, { initial: 32, maximum: 2048 });
  const data = readFileSync(join(PREBUILT, 'data.json'));
  policy.setData(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const entrypoints = policy.entrypoints as Record<string, number>;
  return new WasmEvaluator(policy, entrypoints['gatehouse/main/decision']!);
}

/** An SSH exec of session `n` (its own identity, so the session parts differ from session to session). */
function split(n: number, command: string): SplitInput {
  const identity = {
    sub: `agent-${n}`,
    email: null,
    groups: ['ops'],
    agent: true,
    issuer: 'x',
    client_id: '',
  };
  const connection = { name: 'demo-ssh', protocol: 'ssh', tags: {} };
  const session = { id: `s-${n}`, node: 'n-1', client_addr: '127.0.0.1', started_at: 1767225600 + n };
  const ssh = { type: 'exec', command, pty: false };
  const request = { kind: 'ssh', fingerprint: 'f'.repeat(64), ssh };
  const rest = { request, time: { unix: 1767225600, weekday: 'Thursday', hour: 0 }, grants: [] };
  return {
    sessionKey: JSON.stringify([identity, connection, session]),
    identity,
    connection,
    session,
    restJson: JSON.stringify(rest),
  };
}

/** The same input as one JSON document, evaluated through `opa_eval`. */
function whole(e: WasmEvaluator, s: SplitInput, max = 1 << 20): RawEvaluation {
  const { identity, connection, session } = s;
  const json = `{"identity":${JSON.stringify(identity)},"connection":${JSON.stringify(connection)},"session":${JSON.stringify(session)},${s.restJson.slice(1)}`;
  return e.evaluateJson(json, max);
}

describe('WasmEvaluator', () => {
  it('parses a session’s parts once and decides its requests as the whole document would', async () => {
    const e = await evaluator();
    for (const command of ['uptime', 'rm -rf /', 'tail -n 5 /var/log/syslog', 'cat /etc/shadow']) {
      const s = split(1, command);
      expect(e.evaluateSplit(s, 1 << 20)).toEqual(whole(e, s));
    }
    expect(e.rememberedSessions).toBe(1);
    const allowed = e.evaluateSplit(split(1, 'uptime'), 1 << 20);
    const denied = e.evaluateSplit(split(1, 'rm -rf /'), 1 << 20);
    expect(allowed.ok && JSON.parse(allowed.resultJson)[0].result.allow).toBe(true);
    expect(denied.ok && JSON.parse(denied.resultJson)[0].result.allow).toBe(false);
  });

  it('stays bounded: past its limit it starts over, and every session still sees its own parts', async () => {
    const e = await evaluator();
    const sessions = SESSION_PARTS_MAX_ENTRIES + 20;
    for (let round = 0; round < 2; round++) {
      for (let n = 0; n < sessions; n++) {
        const s = split(n, n % 2 === 0 ? 'uptime' : 'rm -rf /');
        const r = e.evaluateSplit(s, 1 << 20);
        expect(r).toEqual(whole(e, s));
        expect(r.ok && r.resultJson).toContain(n % 2 === 0 ? '"allow":true' : '"allow":false');
      }
      expect(e.rememberedSessions).toBeLessThanOrEqual(SESSION_PARTS_MAX_ENTRIES);
    }
  });

  it('counts the whole document against the byte limit, session parts included', async () => {
    const e = await evaluator();
    const s = split(1, 'uptime');
    const bytes = Buffer.byteLength(
      `{"identity":${JSON.stringify(s.identity)},"connection":${JSON.stringify(s.connection)},"session":${JSON.stringify(s.session)},${s.restJson.slice(1)}`,
    );
    expect(e.evaluateSplit(s, bytes).ok).toBe(true);
    expect(e.evaluateSplit(s, bytes - 1)).toEqual({ ok: false, inputBytes: expect.any(Number) as number });
    expect(whole(e, s, bytes - 1).ok).toBe(false);
  });
});
