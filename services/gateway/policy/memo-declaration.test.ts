import { describe, expect, it } from 'vitest';
import { createPolicyEngine } from './engine.js';
import { PolicyLoadError } from './errors.js';
import { memoDeclaration } from './memo-declaration.js';

const EMPTY_MODULE = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe('memoDeclaration', () => {
  it('reads gatehouse.memo; none declared is null', () => {
    expect(memoDeclaration({ gatehouse: { config: {} } })).toBeNull();
    expect(memoDeclaration({})).toBeNull();
    expect(
      memoDeclaration({
        gatehouse: {
          memo: { inputs: ['identity.sub', 'connection.tags', 'identity.sub'], time_bucket_seconds: 3600 },
        },
      }),
    ).toEqual({ inputs: ['connection.tags', 'identity.sub'], timeBucketSeconds: 3600 });
  });

  it.each([
    [{ inputs: ['identity.password'], time_bucket_seconds: 0 }, 'gatehouse.memo.inputs.0'],
    [{ inputs: ['request'], time_bucket_seconds: 0 }, 'gatehouse.memo.inputs.0'],
    [{ inputs: [], time_bucket_seconds: 7 }, 'gatehouse.memo.time_bucket_seconds: must be 0 or divide 86400'],
    [{ inputs: [] }, 'gatehouse.memo.time_bucket_seconds'],
    [{ inputs: [], time_bucket_seconds: 0, extra: 1 }, 'gatehouse.memo'],
    ['yes', 'gatehouse.memo'],
  ])('refuses an invalid declaration %j', (memo, problem) => {
    expect(() => memoDeclaration({ gatehouse: { memo } })).toThrow(problem);
  });

  it('makes the bundle fail to load with GH_ERR_POLICY_DATA_INVALID', async () => {
    const data = Buffer.from(
      JSON.stringify({ gatehouse: { memo: { inputs: ['time'], time_bucket_seconds: 0 } } }),
    );
    const err: unknown = await createPolicyEngine({ wasm: EMPTY_MODULE, data }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyLoadError);
    expect((err as PolicyLoadError).code).toBe('GH_ERR_POLICY_DATA_INVALID');
    expect((err as PolicyLoadError).message).toContain('gatehouse.memo.inputs.0');
  });
});
