import type { FastifyRequest } from 'fastify';
import type { Identity } from '../identity/index.js';
import { requireGroup, verifyBearer } from './bearer-auth.js';
import type { WebLogin } from './web-login.js';

/** How a service authenticates HTTP requests: bearer tokens, and web sessions when web login is on. */
export type RequestAuth = {
  verify: (token: string) => Promise<Identity>;
  /** Requests need one of these groups (empty: any authenticated identity). */
  allowedGroups: readonly string[];
  web?: WebLogin | undefined;
};

/**
 * The identity of a request: its web session (cookie) if it has a live one, else its bearer token. Throws
 * `WebAuthError` 401 (nothing valid), 403 (not in an allowed group) or 503 (identity provider unavailable).
 */
export async function requestIdentity(request: FastifyRequest, auth: RequestAuth): Promise<Identity> {
  const identity =
    auth.web?.identity(request) ?? (await verifyBearer(request.headers.authorization, auth.verify));
  return auth.allowedGroups.length === 0 ? identity : requireGroup(identity, auth.allowedGroups);
}
