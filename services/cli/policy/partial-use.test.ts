import { describe, expect, it } from 'vitest';
import { inputRefs, refersToPolicyRules } from './partial-use.js';

const ref = (...parts: [string, ...string[]]) => ({
  type: 'ref',
  value: [{ type: 'var', value: parts[0] }, ...parts.slice(1).map((p) => ({ type: 'string', value: p }))],
});

describe('partial evaluation residuals', () => {
  it('names the input fields a residual reads', () => {
    const residual = { partial: { queries: [[{ terms: [ref('eq'), ref('input', 'request', 'kind')] }]] } };
    expect(refersToPolicyRules(residual)).toBe(false);
    const use = inputRefs(residual);
    expect(use === 'all' ? use : [...use.fields].sort()).toEqual(['grants', 'request']);
  });

  it('support rules under data.partial are part of the residual', () => {
    const residual = {
      partial: { queries: [[{ terms: ref('data', 'partial', 'gatehouse', 'main', 'allow') }]] },
    };
    expect(refersToPolicyRules(residual)).toBe(false);
  });

  it('a residual that keeps a rule of the policy as a reference does not show what that rule reads', () => {
    // e.g. `deny := ... if {...} else := ...`: partial evaluation keeps data.gatehouse.main.deny as it is.
    const residual = {
      partial: { queries: [[{ terms: [ref('count'), ref('data', 'gatehouse', 'main', 'deny')] }]] },
    };
    expect(refersToPolicyRules(residual)).toBe(true);
  });
});
