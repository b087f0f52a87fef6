import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../shared/errors.js';
import { UnknownDetectorError } from '../masking/errors.js';
import { PolicyLoadError } from './errors.js';

describe('policy errors', () => {
  it('are of the policy family: bundle load failures and unknown masking detectors', () => {
    const load = new PolicyLoadError('GH_ERR_POLICY_WASM_INVALID', 'bad wasm');
    const detector = new UnknownDetectorError('nope');
    expect(load).toBeInstanceOf(PolicyError);
    expect(detector).toBeInstanceOf(PolicyError);
    expect([load.name, load.code, detector.code]).toEqual([
      'PolicyLoadError',
      'GH_ERR_POLICY_WASM_INVALID',
      'GH_ERR_MASK_UNKNOWN_DETECTOR',
    ]);
  });
});
