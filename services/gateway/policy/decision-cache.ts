import type { Decision } from './types.js';

/** Decisions an engine remembers (the shipped policy gives a few dozen distinct ones). */
export const DECISION_CACHE_MAX_ENTRIES = 512;
/** Longest result JSON (characters) whose decision is remembered; longer ones are parsed every time. */
export const DECISION_CACHE_MAX_KEY_LENGTH = 8192;

/**
 * Validated decisions by the exact result JSON the policy module wrote: the same text always parses and validates
 * to the same decision, so a repeated result skips `JSON.parse` and the decision check. Remembered decisions are
 * frozen whole, since every evaluation with that result shares them. Bounded: when full, it starts over.
 */
export class DecisionCache {
  readonly #entries = new Map<string, Decision>();

  get(resultJson: string): Decision | undefined {
    return this.#entries.get(resultJson);
  }

  /** Freezes `decision` and remembers it under `resultJson` (when short enough); returns it. */
  remember(resultJson: string, decision: Decision): Decision {
    freezeDeep(decision);
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

function freezeDeep(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) freezeDeep(v);
}
