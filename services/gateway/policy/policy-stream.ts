import type { Kafka } from 'kafkajs';
import { PolicyError } from '../../shared/errors.js';
import { logError } from '../../shared/log-error.js';
import { LogTail } from '../../shared/log/log-tail.js';
import type { TailRecord } from '../../shared/log/log-tail.js';
import type { Logger } from '../../shared/logger.js';
import type { TrustedKeys } from '../../shared/signing/signing-keys.js';
import type { ActivePolicy, PolicyRefusal } from './active-policy.js';
import { decodePolicyRecord, POLICY_RECORD_KEYS } from '../../shared/policy-stream/bundle-record.js';
import type { PolicyRecord } from '../../shared/policy-stream/bundle-record.js';
import { createPolicyEngine } from './engine.js';
import type { PolicyEngine, PolicyEngineOptions } from './engine.js';
import { PolicyLoadError, PolicyLoadErrorCode } from './errors.js';

export type PolicyStreamOptions = {
  kafka: Kafka;
  log: Logger;
  topic: string;
  /** Consumer groups are `<prefix>-<random>`: every node reads the whole (compacted) topic on its own. */
  groupIdPrefix: string;
  trustedKeys: TrustedKeys;
  active: ActivePolicy;
  engineOptions?: PolicyEngineOptions;
  /** Newest `active` records kept while catching up: the first that loads becomes the revision (newest first). */
  maxCandidates: number;
  /** How long start waits to catch up with the topic before it fails. */
  startTimeoutMs: number;
  /** Called for every refused record (after it was logged): metrics and the node event. */
  onRefused?: (refusal: PolicyRefusal) => void;
  /** Called after every swap of the active or shadow revision. */
  onSwapped?: (what: { role: 'active' | 'shadow'; revision: string | undefined }) => void;
};

type Role = 'active' | 'shadow';

/**
 * A node's view of `gatehouse.policies`: reads the topic from the beginning, loads the newest good `active`
 * revision before `start` resolves (so the node turns ready on it), then swaps in every later record that verifies
 * and loads — one at a time, in log order. A record that fails (malformed, unsigned, forged, a bundle that does not
 * load) is refused: the node keeps its last good revision, logs it, counts it and reports it (`onRefused`).
 */
export class PolicyStream {
  readonly #o: PolicyStreamOptions;
  readonly #log: Logger;
  readonly #tail: LogTail;
  #settled = false;
  #candidates: TailRecord[] = [];
  #shadowCandidate: TailRecord | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(o: PolicyStreamOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'policy-stream', topic: o.topic });
    this.#tail = new LogTail({ kafka: o.kafka, log: o.log, topic: o.topic, groupIdPrefix: o.groupIdPrefix });
  }

  /** Resolves once the topic was read to its end and the newest good revision (if any) is active. */
  async start(): Promise<void> {
    await this.#tail.start((r) => this.#onRecord(r));
    if (!(await this.#tail.waitCaughtUp(this.#o.startTimeoutMs))) {
      throw new PolicyLoadError(
        PolicyLoadErrorCode.bundleUnreadable,
        `policy topic ${this.#o.topic} not read to its end within ${this.#o.startTimeoutMs} ms`,
      );
    }
    this.#settled = true;
    const candidates = this.#candidates.reverse();
    this.#candidates = [];
    const shadow = this.#shadowCandidate;
    this.#shadowCandidate = undefined;
    const settle = async (): Promise<void> => {
      for (const r of candidates) if (await this.#apply(r, 'active')) break;
      if (shadow) await this.#apply(shadow, 'shadow');
    };
    this.#chain = this.#chain.then(settle);
    await this.#chain;
  }

  /** Resolves when every record received so far has been applied or refused (tests). */
  idle(): Promise<void> {
    return this.#chain;
  }

  get isHealthy(): boolean {
    return this.#tail.isCaughtUp;
  }

  async stop(): Promise<void> {
    await this.#tail.stop();
    await this.#chain;
  }

  #onRecord(r: TailRecord): void {
    const key = r.key?.toString('utf8');
    const role: Role | undefined =
      key === POLICY_RECORD_KEYS.active ? 'active' : key === POLICY_RECORD_KEYS.shadow ? 'shadow' : undefined;
    if (!role) return; // `revision:<rev>` archive records are for rollbacks, not for nodes
    if (!this.#settled) {
      if (role === 'shadow') this.#shadowCandidate = r;
      else {
        this.#candidates.push(r);
        if (this.#candidates.length > this.#o.maxCandidates) this.#candidates.shift();
      }
      return;
    }
    this.#chain = this.#chain.then(() => this.#apply(r, role).then(() => undefined));
  }

  /** Verifies, loads and swaps one record; true when it became the node's revision for `role`. */
  async #apply(r: TailRecord, role: Role): Promise<boolean> {
    let record: PolicyRecord | undefined;
    try {
      record = decodePolicyRecord(r.value, this.#o.trustedKeys);
      if (role === 'shadow' && record.claims.kind === 'shadow-clear') {
        this.#o.active.shadow(undefined);
        this.#log.info({ offset: r.offset }, 'shadow policy ended');
        this.#o.onSwapped?.({ role, revision: undefined });
        return true;
      }
      const expected = role === 'active' ? 'activate' : 'shadow';
      if (record.claims.kind !== expected) {
        throw new PolicyLoadError(
          PolicyLoadErrorCode.recordInvalid,
          `a "${record.claims.kind}" record under key "${role}"`,
        );
      }
      const engine: PolicyEngine = await createPolicyEngine(
        { wasm: record.wasm, data: record.data, revision: record.claims.revision },
        this.#o.engineOptions,
      );
      if (role === 'active') this.#o.active.activate(engine, 'stream');
      else this.#o.active.shadow(engine);
      this.#log.info(
        {
          role,
          revision: engine.revision,
          author: record.claims.author.sub,
          message: record.claims.message.slice(0, 200),
          rollback: record.claims.rollback,
          offset: r.offset,
        },
        role === 'active' ? 'policy revision activated' : 'shadow policy revision loaded',
      );
      this.#o.onSwapped?.({ role, revision: engine.revision });
      return true;
    } catch (err) {
      const code = err instanceof PolicyError ? err.code : PolicyLoadErrorCode.recordInvalid;
      const reason = err instanceof Error ? err.message : 'unknown error';
      const revision = record?.claims.revision ?? claimedRevision(r.value);
      const refusal = this.#o.active.refuse(revision, code, reason);
      logError(this.#log, err, 'policy record refused; keeping the last good revision', {
        role,
        revision,
        offset: r.offset,
        kept: this.#o.active.status().revision,
      });
      this.#o.onRefused?.(refusal);
      return false;
    }
  }
}

/** The revision a record claims, for the refusal note (unverified: never used for anything else). */
function claimedRevision(value: Buffer): string {
  const m = /"revision":"([0-9a-f]{1,64})"/.exec(value.subarray(0, 4096).toString('utf8'));
  return m?.[1] ?? 'unknown';
}
