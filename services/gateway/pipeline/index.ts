export { createRequestPipeline } from './request-pipeline.js';
export { AUDIT_UNAVAILABLE } from './audit-unavailable.js';
export type * from './types.js';
export { DecisionMemo, decisionMemoSchema, memoisedPolicy, memoKey } from './decision-memo.js';
export type { DecisionMemoOptions, MemoOutcome, MemoisedResult } from './decision-memo.js';
