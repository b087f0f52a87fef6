import { decisionOutcome, reconstructInput } from '../../gateway/index.js';
import type { PolicyEngine, RecordedRequest } from '../../gateway/index.js';
import type { InputUse } from './input-paths.js';

export type Outcome = 'allow' | 'deny' | 'approval';

/** How a recorded request's outcome would change under the candidate. */
export type Change = 'allow→deny' | 'deny→allow' | 'approval added' | 'approval removed';

export type ChangeExample = {
  readonly sessionId: string;
  readonly requestId: number;
  readonly identity: string;
  readonly connection: string;
  readonly text: string;
  readonly reasons: readonly string[];
};

export type BacktestSummary = {
  total: number;
  unchanged: number;
  /** Requests whose input could not be rebuilt (recorded before input recording, split records). */
  skipped: number;
  evaluated: number;
  memoHits: number;
  changes: Record<Change, number>;
  examples: Record<Change, ChangeExample[]>;
};

export function change(from: Outcome, to: Outcome): Change | undefined {
  if (from === to) return undefined;
  if (to === 'approval') return 'approval added';
  if (from === 'approval') return 'approval removed';
  return from === 'allow' ? 'allow→deny' : 'deny→allow';
}

export function emptySummary(): BacktestSummary {
  return {
    total: 0,
    unchanged: 0,
    skipped: 0,
    evaluated: 0,
    memoHits: 0,
    changes: { 'allow→deny': 0, 'deny→allow': 0, 'approval added': 0, 'approval removed': 0 },
    examples: { 'allow→deny': [], 'deny→allow': [], 'approval added': [], 'approval removed': [] },
  };
}

type Memo = { outcome: Outcome; reasons: readonly string[] };

/**
 * What the candidate reads of `input`: for requests offered grants (from its sources), and for those offered none
 * (from partial evaluation with `input.grants = []`, else the same as with grants).
 */
export type InputUses = { readonly withGrants: InputUse; readonly noGrants: InputUse };

/**
 * Re-evaluates recorded requests with a candidate engine. Decisions are memoised on the parts of the input the
 * candidate's Rego can read (`InputUse`): identical keys are identical inputs as far as the policy can tell, so a
 * memo hit is exact. The memo is bounded (`maxMemo` entries, then cleared).
 */
export class Backtester {
  readonly summary = emptySummary();
  readonly #engine: PolicyEngine;
  readonly #uses: InputUses;
  readonly #memo = new Map<string, Memo>();
  readonly #maxMemo: number;
  readonly #maxExamples: number;
  readonly #sessionKeys = [
    new WeakMap<RecordedRequest['identity'], string>(),
    new WeakMap<RecordedRequest['identity'], string>(),
  ] as const;

  constructor(engine: PolicyEngine, uses: InputUses, o: { maxMemo: number; maxExamples: number }) {
    this.#engine = engine;
    this.#uses = uses;
    this.#maxMemo = o.maxMemo;
    this.#maxExamples = o.maxExamples;
  }

  /** The key of everything the policy can read of this request's input (undefined: do not memoise). */
  #key(r: RecordedRequest): string | undefined {
    const noGrants = r.inputGrantsJson === '';
    const use = noGrants ? this.#uses.noGrants : this.#uses.withGrants;
    if (use === 'all') return undefined;
    const sessionKeys = this.#sessionKeys[noGrants ? 0 : 1];
    let session = sessionKeys.get(r.identity);
    if (session === undefined) {
      const f = use.fields;
      session = JSON.stringify([
        f.has('identity') ? r.identity : 0,
        f.has('connection') ? r.connection : 0,
        f.has('session') ? [r.sessionId, r.node] : 0,
      ]);
      sessionKeys.set(r.identity, session);
    }
    const t = use.time;
    const d = new Date(r.inputUnix * 1000);
    const time = use.fields.has('time')
      ? `${t.has('unix') ? r.inputUnix : ''}|${t.has('weekday') ? d.getUTCDay() : ''}|${t.has('hour') ? d.getUTCHours() : ''}`
      : '';
    return `${noGrants ? 0 : 1}${session}\u0000${use.fields.has('session') ? r.inputSessionJson : ''}\u0000${time}\u0000${
      use.fields.has('grants') ? r.inputGrantsJson : ''
    }\u0000${use.fields.has('request') ? r.parsedJson : ''}`;
  }

  /** Re-decides one recorded request and counts the change against `recorded`. */
  add(r: RecordedRequest, recorded: Outcome, requestId: number): void {
    this.summary.total++;
    if (r.inputUnix === 0 || r.parsedJson === '' || r.inputSessionJson === '') {
      this.summary.skipped++;
      return;
    }
    const key = this.#key(r);
    let memo = key === undefined ? undefined : this.#memo.get(key);
    if (memo) this.summary.memoHits++;
    else {
      let input;
      try {
        input = reconstructInput(r);
      } catch {
        this.summary.skipped++;
        return;
      }
      const result = this.#engine.evaluate(input);
      this.summary.evaluated++;
      memo = { outcome: decisionOutcome(result.decision), reasons: result.decision.reasons };
      if (key !== undefined) {
        if (this.#memo.size >= this.#maxMemo) this.#memo.clear();
        this.#memo.set(key, memo);
      }
    }
    const c = change(recorded, memo.outcome);
    if (c === undefined) {
      this.summary.unchanged++;
      return;
    }
    this.summary.changes[c]++;
    const examples = this.summary.examples[c];
    if (examples.length < this.#maxExamples) {
      examples.push({
        sessionId: r.sessionId,
        requestId,
        identity: r.identity.sub,
        connection: r.connection.name,
        text: requestText(r.parsedJson),
        reasons: memo.reasons,
      });
    }
  }
}

/** A short text of the request for an example line. */
function requestText(parsedJson: string): string {
  try {
    const req = JSON.parse(parsedJson) as {
      sql?: { text?: unknown };
      ssh?: { command?: unknown };
      kind?: unknown;
    };
    const text = req.sql?.text ?? req.ssh?.command ?? req.kind;
    return typeof text === 'string' ? text.replace(/\s+/g, ' ').slice(0, 160) : '';
  } catch {
    return '';
  }
}

/** The report `gatehouse policy backtest` prints. */
export function formatSummary(s: BacktestSummary, revision: string, seconds: number): string {
  const changed = s.total - s.unchanged - s.skipped;
  const lines = [
    `backtest of revision ${revision}: ${s.total} recorded requests, ${changed} would change, ${s.unchanged} unchanged, ${s.skipped} not reconstructible`,
    `  (${s.evaluated} evaluated, ${s.memoHits} from the memo; ${seconds.toFixed(2)} s, ${Math.round(s.total / Math.max(seconds, 1e-6))} requests/s)`,
  ];
  for (const [c, n] of Object.entries(s.changes) as [Change, number][]) {
    lines.push(`${c.padEnd(17)} ${n}`);
    for (const e of s.examples[c]) {
      lines.push(`    ${e.sessionId}#${e.requestId} ${e.identity}@${e.connection}: ${e.text}`);
      if (e.reasons.length > 0) lines.push(`      reasons: ${e.reasons.join('; ').slice(0, 200)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
