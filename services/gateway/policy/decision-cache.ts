import { deepFreeze } from '../pipeline/frozen-json.js';
import type { Decision } from './types.js';

/** Decisions an engine remembers (the shipped policy gives a few dozen distinct ones). */
export const DECISION_CACHE_MAX_ENTRIES = 512;
/** Longest result JSON (characters) whose decision is remembered; longer ones are parsed every time. */
export const DECISION_CACHE_MAX_KEY_LENGTH = 8192;

/**
 * Validated decisions by the exact result JSON the policy module wrote: the same text always parses and validates
 * to the same decision, so a repeated result skips `JSON.parse` and the decision check. Remembered decisions are
 * frozen whole (`deepFreeze`, the one the decision memo and the decision event use), since every evaluation with
 * that result shares them: so the decision event's `decision_json` of a repeated decision is serialised once
 * (`frozenJson`), not per request. Bounded: when full, it starts over.
 *
 * Not a second decision memo: the memo (pipeline/decision-memo.ts) is keyed by the input a bundle declares its
 * decision depends on and skips the evaluation; this is keyed by what the evaluation returned and skips reading it.
 */
export class DecisionCache {
  readonly #entries = new Map<string, Decision>();

  get(resultJson: string): Decision | undefined {
    return this.#entries.get(resultJson);
  }

  /** Freezes `decision` and remembers it under `resultJson` (when short enough); returns it. */
  remember(resultJson: string, decision: Decision): Decision {
    deepFreeze(decision);
    if (resultJson.length <= DECISION_CACHE_MAX_KEY_LENGTH) {
      if (this.#entries.size >= DECISION_CACHE_MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(resultJson, decision);
    }
    return decision;
  }

  get size(): number {
    return this.#entries.size;
  }
}
