import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deepFreeze, frozenJson } from '../pipeline/frozen-json.js';
import { loadPolicyBundle } from './load-bundle.js';
import { fingerprint } from './fingerprint.js';
import { policyTime } from './policy-time.js';
import type { PolicyInput, PolicyRequest } from './types.js';

/** The committed default bundle (policies/prebuilt): no opa binary needed. */
const PREBUILT = join(import.meta.dirname, '..', '..', '..', 'policies', 'prebuilt');

/** An agent's HTTP GET, as the HTTP listener describes it, with a request object of its own. */
function httpInput(): PolicyInput {
  const path = '/customers';
  const http = { method: 'GET', path, segments: ['customers'], query: {}, headers: {}, content_type: '' };
  const request: PolicyRequest = {
    kind: 'http',
    fingerprint: fingerprint('http', `GET ${path}`),
    http: { ...http, json: null, body_bytes: 0, body_inspected: true },
  };
  const session = { id: 's-1', node: 'n-1', client_addr: '127.0.0.1', started_at: 1767225600 };
  const identity = {
    sub: 'agent-7',
    email: null,
    groups: ['engineering'],
    agent: true,
    issuer: 'x',
    client_id: '',
  };
  const connection = { name: 'demo-http', protocol: 'http', tags: { env: 'demo' } } as const;
  return { identity, connection, session, request, time: policyTime(new Date(0)), grants: [] };
}

describe('engine input encoding', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes a request frozen whole from its cached JSON (shared with the request event), deciding the same', async () => {
    const engine = await loadPolicyBundle(PREBUILT);
    const open = engine.evaluate(httpInput());
    expect(open.failedClosed).toBe(false);

    const whole = httpInput();
    const request = deepFreeze(whole.request);
    const cached = frozenJson(request); // as the decision memo's key or the request event writes it
    const stringify = vi.spyOn(JSON, 'stringify');
    const frozen = engine.evaluate(whole);
    expect(frozen.failedClosed).toBe(false);
    expect(frozen.decision).toEqual(open.decision);
    // Neither the request nor the input holding it was serialised again.
    expect(stringify.mock.calls.some(([value]) => value === request || value === whole)).toBe(false);
    expect(stringify.mock.calls.length).toBeGreaterThan(0);
    expect(frozenJson(request)).toBe(cached);
  });

  it('encodes exactly what JSON.stringify(input) encodes when a part is not a JSON value', async () => {
    const engine = await loadPolicyBundle(PREBUILT);
    const frozen = httpInput();
    deepFreeze(frozen.request);
    const broken = { ...frozen, identity: undefined } as unknown as PolicyInput;
    const viaWhole = { ...httpInput(), identity: undefined } as unknown as PolicyInput;
    const a = engine.evaluate(broken);
    const b = engine.evaluate(viaWhole);
    expect(a.failedClosed).toBe(b.failedClosed);
    expect(a.decision).toEqual(b.decision);
    expect(a.decision.allow).toBe(false);
  });
});
