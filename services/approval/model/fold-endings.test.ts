import { describe, expect, it } from 'vitest';
import { dueDecision } from './decision.js';
import { checkReview } from './review-rules.js';
import { stateOf } from './types.js';
import { bob, T0, SEC, requested, reviewed, decided, notice, foldAll, lastIgnored } from './fold-fixtures.js';

describe('approval fold: how an approval ends (expiry, abandonment, hold leases, gateway notices)', () => {
  it('expires: nothing counts at or after the expiry, and expiry is due when no one acted', () => {
    let r = foldAll([requested({ ttl: 10n }), notice('waited', T0 + 10n * SEC)]);
    expect(r.waited).toBe(true);
    expect(stateOf(r)).toBe('pending');
    expect(dueDecision(r, T0 + 9n * SEC, SEC)).toBeUndefined();
    expect(dueDecision(r, T0 + 10n * SEC, SEC)).toMatchObject({
      outcome: 'expired',
      reason: 'no decision within 10 s',
    });
    r = foldAll([requested({ ttl: 10n }), reviewed(bob, 'approve', T0 + 10n * SEC)]);
    expect(lastIgnored(r)).toBe('the approval request has expired');
    expect(r.approvals).toHaveLength(0);
    // an approval that settled before the expiry is still published as approved after it
    r = foldAll([requested({ ttl: 10n }), reviewed(bob, 'approve', T0 + 9n * SEC)]);
    expect(dueDecision(r, T0 + 20n * SEC, SEC)?.outcome).toBe('approved');
    r = foldAll([
      requested({ ttl: 10n }),
      decided('expired', T0 + 10n * SEC),
      reviewed(bob, 'approve', T0 + 11n * SEC),
    ]);
    expect(stateOf(r)).toBe('expired');
    expect(dueDecision(r, T0 + 20n * SEC, SEC)).toBeUndefined();
  });

  it('ends abandoned at expiry + grace when no gateway said it still waited (its node died)', () => {
    const r = foldAll([requested({ ttl: 10n })]);
    expect(dueDecision(r, T0 + 10n * SEC, SEC)).toBeUndefined(); // within the grace for the waited notice
    expect(dueDecision(r, T0 + 11n * SEC, SEC)).toMatchObject({
      outcome: 'abandoned',
      reason: expect.stringMatching(/gw-1 stopped/) as unknown,
    });
  });

  it('ends abandoned once the holding node stops renewing its hold lease; reviews after the lapse answer 409', () => {
    const held = (at: bigint) => notice('holding', at, 's1', at + 3n * SEC);
    let r = foldAll([requested({ ttl: 60n }), held(T0), held(T0 + 2n * SEC), held(T0 + SEC)]);
    expect(r.heldUntilMicros).toBe(T0 + 5n * SEC); // never shortened by an older renewal
    expect(r.history).toHaveLength(1); // renewals leave no history entry
    expect(dueDecision(r, T0 + 4n * SEC, SEC)).toBeUndefined();
    expect(dueDecision(r, T0 + 5n * SEC, SEC)).toMatchObject({
      outcome: 'abandoned',
      reason: expect.stringMatching(/gw-1 stopped renewing its hold/) as unknown,
    });
    expect(checkReview(r, bob, 'approve', '', T0 + 4n * SEC)).toBeUndefined();
    expect(checkReview(r, bob, 'approve', '', T0 + 5n * SEC)).toMatchObject({
      code: 'hold_lapsed',
      status: 409,
    });
    r = foldAll([requested({ ttl: 60n }), held(T0), reviewed(bob, 'approve', T0 + 6n * SEC)]);
    expect(r.approvals).toHaveLength(0);
    expect(lastIgnored(r)).toMatch(/no longer holds the request/);
    // a renewal naming another session changes nothing; one after the decision neither
    r = foldAll([requested({ ttl: 60n }), notice('holding', T0, 'x', T0 + 9n * SEC)]);
    expect(r.heldUntilMicros).toBeUndefined();
    // approved before the lapse: still published approved after it
    r = foldAll([requested({ ttl: 60n }), held(T0), reviewed(bob, 'approve', T0 + SEC)]);
    expect(dueDecision(r, T0 + 10n * SEC, SEC)?.outcome).toBe('approved');
  });

  it('takes the first hold lease from the request itself: a node that dies before any renewal is noticed', () => {
    let r = foldAll([requested({ ttl: 900n, heldUntil: T0 + 2n * SEC })]);
    expect(r.heldUntilMicros).toBe(T0 + 2n * SEC);
    expect(dueDecision(r, T0 + SEC, SEC)).toBeUndefined();
    expect(dueDecision(r, T0 + 2n * SEC, SEC)).toMatchObject({
      outcome: 'abandoned',
      reason: expect.stringMatching(/gw-1 stopped renewing its hold/) as unknown,
    });
    // renewals extend it as before; a request without one (older node) waits for its first renewal
    r = foldAll([
      requested({ ttl: 900n, heldUntil: T0 + 2n * SEC }),
      notice('holding', T0, 's1', T0 + 7n * SEC),
    ]);
    expect(r.heldUntilMicros).toBe(T0 + 7n * SEC);
    expect(foldAll([requested({ ttl: 900n })]).heldUntilMicros).toBeUndefined();
  });

  it("a gateway's abandoned notice ends the approval; late reviews answer 409", () => {
    let r = foldAll([requested(), notice('abandoned', T0 + SEC)]);
    expect(stateOf(r)).toBe('abandoned');
    expect(r.decision?.reason).toBe('the client went away');
    expect(checkReview(r, bob, 'approve', '', T0 + 2n * SEC)).toMatchObject({
      status: 409,
      message: 'the request was already abandoned',
    });
    r = foldAll([
      requested(),
      notice('abandoned', T0 + SEC, 'other-session'),
      notice('waited', T0 + SEC, 'x'),
    ]);
    expect(stateOf(r)).toBe('pending');
    expect(r.waited).toBe(false);
    expect(lastIgnored(r)).toMatch(/does not name the request's session/);
  });
});
