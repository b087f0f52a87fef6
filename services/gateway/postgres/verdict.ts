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
  kind: 'sql' | 'sql.parse',
) => SqlVerdict | Promise<SqlVerdict>;
