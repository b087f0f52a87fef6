import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyBundle } from '../../services/gateway/policy/index.js';
import { PREBUILT_POLICY_DIR, policySourcesDigest } from './policy-sources.js';

describe('the prebuilt default policy bundle (policies/prebuilt)', () => {
  it('was built from the policies/ sources as they are now', () => {
    const recorded = readFileSync(join(PREBUILT_POLICY_DIR, 'sources.sha256'), 'utf8').trim();
    expect(
      recorded,
      'policies/prebuilt is stale: the Rego sources changed since it was built. Run `npm run policy:prebuild` ' +
        '(needs opa: npm run stack:up) and commit policies/prebuilt/',
    ).toBe(policySourcesDigest());
  });

  it('loads, and its revision matches its files', async () => {
    const engine = await loadPolicyBundle(PREBUILT_POLICY_DIR);
    expect(engine.revision).toBe(readFileSync(join(PREBUILT_POLICY_DIR, 'revision'), 'utf8').trim());
  });
});
