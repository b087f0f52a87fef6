export { createRequestPipeline } from './request-pipeline.js';
export { AUDIT_UNAVAILABLE } from './audit-unavailable.js';
export type * from './types.js';
