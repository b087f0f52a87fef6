import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../errors.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from '../signing/signing-keys.js';
import { claimsFor, decodePolicyRecord, encodePolicyRecord } from './bundle-record.js';

function key(id: string) {
  const { privateKey } = generateKeyPairSync('ed25519');
  return loadSigningKey(id, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
}

const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 9, 9]);
const data = new TextEncoder().encode('{"a":1}');
const rest = {
  kind: 'activate' as const,
  author: { sub: 'pat', groups: ['policy-admins'] },
  message: 'm',
  publishedAt: 1,
  rollback: false,
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).code;
  }
  return 'accepted';
}

describe('policy bundle records', () => {
  const k1 = key('k1');
  const pinned = loadTrustedKeys({ k1: publicKeyText(k1) });

  it('round-trips a signed bundle: the bytes, the claims and the revision', () => {
    const claims = claimsFor({ wasm, data }, rest);
    const rec = decodePolicyRecord(encodePolicyRecord(claims, { wasm, data }, k1), pinned);
    expect(rec.claims).toEqual(claims);
    expect(rec.claims.revision).toMatch(/^[0-9a-f]{16}$/);
    expect([...rec.wasm]).toEqual([...wasm]);
    expect(new TextDecoder().decode(rec.data)).toBe('{"a":1}');
  });

  it('refuses records signed by an unpinned key, or by a forger under a pinned key id', () => {
    const claims = claimsFor({ wasm, data }, rest);
    expect(
      refusal(() => decodePolicyRecord(encodePolicyRecord(claims, { wasm, data }, key('k2')), pinned)),
    ).toBe('GH_ERR_POLICY_RECORD_UNVERIFIED');
    expect(
      refusal(() => decodePolicyRecord(encodePolicyRecord(claims, { wasm, data }, key('k1')), pinned)),
    ).toBe('GH_ERR_POLICY_RECORD_UNVERIFIED');
  });

  it('refuses changed claims, swapped bytes and a wrong revision', () => {
    const claims = claimsFor({ wasm, data }, rest);
    const good = JSON.parse(encodePolicyRecord(claims, { wasm, data }, k1).toString()) as {
      claims: { author: { sub: string } };
      bundle: string;
    };
    const edited = { ...good, claims: { ...good.claims, author: { ...good.claims.author, sub: 'mallory' } } };
    expect(refusal(() => decodePolicyRecord(Buffer.from(JSON.stringify(edited)), pinned))).toBe(
      'GH_ERR_POLICY_RECORD_UNVERIFIED',
    );
    const other = JSON.parse(
      encodePolicyRecord(claims, { wasm, data: new TextEncoder().encode('{"a":2}') }, k1).toString(),
    ) as { bundle: string };
    expect(
      refusal(() =>
        decodePolicyRecord(Buffer.from(JSON.stringify({ ...good, bundle: other.bundle })), pinned),
      ),
    ).toBe('GH_ERR_POLICY_RECORD_UNVERIFIED');
    const wrongRevision = { ...claims, revision: 'ffffffffffffffff' };
    expect(
      refusal(() => decodePolicyRecord(encodePolicyRecord(wrongRevision, { wasm, data }, k1), pinned)),
    ).toBe('GH_ERR_POLICY_RECORD_UNVERIFIED');
  });

  it('refuses what is not a record', () => {
    expect(refusal(() => decodePolicyRecord(Buffer.from('nope'), pinned))).toBe(
      'GH_ERR_POLICY_RECORD_INVALID',
    );
    expect(refusal(() => decodePolicyRecord(Buffer.from('{"v":2}'), pinned))).toBe(
      'GH_ERR_POLICY_RECORD_INVALID',
    );
  });
});
