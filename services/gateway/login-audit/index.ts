export { bearerLogin } from './bearer-login.js';
export type { BearerLoginAttempt, BearerLoginDeps } from './bearer-login.js';
export { LoginRefusals, printable, sourceOf } from './login-refusals.js';
export type { LoginRefusal, LoginRefusalLimits } from './login-refusals.js';
export { RefusalReason, tokenRefusalReason } from './refusal-reason.js';
export { SourceLimiter, OVERFLOW_SOURCE } from './source-limiter.js';
