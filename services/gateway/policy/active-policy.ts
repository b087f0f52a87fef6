import type { PolicyEngine } from './engine.js';
import { withShadow } from './shadow-engine.js';

/** Where the active revision came from. */
export type PolicySource = 'stream' | 'dir' | 'injected';

/** A bundle a node refused to load (it kept its last good revision). */
export type PolicyRefusal = {
  readonly revision: string;
  readonly code: string;
  readonly reason: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
};

export type ActivePolicyStatus = {
  readonly revision: string | undefined;
  /** When the active revision was swapped in (ms since the epoch). */
  readonly since: number | undefined;
  readonly source: PolicySource | undefined;
  readonly shadowRevision: string | undefined;
  /** The newest refusals first, at most `maxRefusals`. */
  readonly refusals: readonly PolicyRefusal[];
  readonly refusedTotal: number;
};

/**
 * The node's policy: one engine reference swapped atomically. `current()` is read once per request and evaluation
 * is synchronous, so an evaluation that already took an engine finishes on it while later requests get the new one;
 * nothing is drained or dropped. A refused bundle never touches the reference.
 */
export class ActivePolicy {
  #engine: PolicyEngine | undefined;
  #shadow: PolicyEngine | undefined;
  #view: PolicyEngine | undefined;
  #since: number | undefined;
  #source: PolicySource | undefined;
  readonly #refusals: PolicyRefusal[] = [];
  #refusedTotal = 0;
  readonly #maxRefusals: number;
  readonly #now: () => number;

  constructor(opts: { maxRefusals: number; now?: () => number }) {
    this.#maxRefusals = opts.maxRefusals;
    this.#now = opts.now ?? Date.now;
  }

  get loaded(): boolean {
    return this.#engine !== undefined;
  }

  /** The engine to evaluate this request with (the active revision, plus the shadow candidate when one is set). */
  current(): PolicyEngine | undefined {
    return this.#view;
  }

  activate(engine: PolicyEngine, source: PolicySource): void {
    if (this.#engine?.revision !== engine.revision) this.#since = this.#now();
    this.#engine = engine;
    this.#source = source;
    this.#refresh();
  }

  /** Sets (or, with undefined, ends) the shadow candidate. */
  shadow(engine: PolicyEngine | undefined): void {
    this.#shadow = engine;
    this.#refresh();
  }

  refuse(revision: string, code: string, reason: string): PolicyRefusal {
    const refusal = { revision, code, reason, at: this.#now() };
    this.#refusals.unshift(refusal);
    if (this.#refusals.length > this.#maxRefusals) this.#refusals.length = this.#maxRefusals;
    this.#refusedTotal++;
    return refusal;
  }

  status(): ActivePolicyStatus {
    return {
      revision: this.#engine?.revision,
      since: this.#since,
      source: this.#source,
      shadowRevision: this.#shadow?.revision,
      refusals: [...this.#refusals],
      refusedTotal: this.#refusedTotal,
    };
  }

  #refresh(): void {
    const active = this.#engine;
    this.#view =
      active && this.#shadow && this.#shadow.revision !== active.revision
        ? withShadow(active, this.#shadow)
        : active;
  }
}
