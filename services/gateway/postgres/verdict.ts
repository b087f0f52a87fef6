import type { SqlAnalysis } from '../sql/index.js';
import type { MaskSpec } from './response-pipeline.js';

/** The gateway's verdict on one SQL request (a Query message or a Parse), from analysis plus policy. */
export type SqlVerdict = {
  readonly allow: boolean;
  readonly reasons: readonly string[];
  /** SQLSTATE for the client when refused: 42501 for policy, 57P03 when the audit log is unavailable. */
  readonly sqlstate: string;
  readonly mask: MaskSpec | null;
  /** Proven read-only by the analysis and audited "batched" by policy: may be forwarded before Kafka's ack. */
  readonly batched: boolean;
  readonly revision: string;
  /**
   * Present when policy asks for a human's approval: waits for it (sending `notify` lines to the client while it
   * waits) and resolves with the final verdict. `signal` aborts the wait when the client goes away.
   */
  readonly hold?: (notify: (message: string) => void, signal: AbortSignal) => Promise<SqlVerdict>;
};

/**
 * Decides one SQL text and publishes its `request` and `decision` events. Resolves when the statement may be
 * forwarded: for anything not proven read-only, only after both events are acknowledged by Kafka. Read-only
 * requests are decided synchronously (no await on the hot path).
 */
export type SqlDecider = (
  sql: string,
  requestId: number,
  kind: SqlRequestKind,
  options?: SqlDecideOptions,
) => SqlVerdict | Promise<SqlVerdict>;

/** 'sql': a simple Query; 'sql.parse': a Parse; 'sql.bind'/'sql.execute': a protocol Bind of a statement or an
 * Execute of a cursor that was not decided when its name was created (decided as the statement behind the name). */
export type SqlRequestKind = 'sql' | 'sql.parse' | 'sql.bind' | 'sql.execute';

export type SqlDecideOptions = {
  /** The analysis to decide on instead of analysing `sql` (a named statement's). */
  readonly analysis?: SqlAnalysis;
  /** Rewrites the analysis before policy sees it (name resolution); called synchronously, before any await. */
  readonly resolve?: (analysis: SqlAnalysis) => SqlAnalysis;
};
