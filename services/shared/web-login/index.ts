export { bearerChallenge, bearerToken, requireGroup, verifyBearer } from './bearer-auth.js';
export { WebAuthError, WebAuthErrorCode } from './errors.js';
export { WebSessionStore } from './session-store.js';
export type { WebSession } from './session-store.js';
export { readCookie, registerWebLogin, SESSION_COOKIE, webLoginSchema } from './web-login.js';
export type { WebLogin, WebLoginConfig, WebLoginOptions } from './web-login.js';
export { requestIdentity } from './request-identity.js';
export type { RequestAuth } from './request-identity.js';
