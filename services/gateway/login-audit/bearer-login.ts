import type { Identity } from '../../shared/identity/index.js';
import { TokenError } from '../../shared/identity/index.js';
import type { LoginRefusal, LoginRefusals } from './login-refusals.js';
import { RefusalReason, tokenRefusalReason } from './refusal-reason.js';

/** What a listener that takes bearer tokens over HTTP (MCP, the HTTP proxy) hands in once. */
export type BearerLoginDeps = {
  readonly protocol: LoginRefusal['protocol'];
  readonly refusals?: LoginRefusals | undefined;
  readonly metrics?: { loginFailed(code: string): void } | undefined;
};

/** One request's login: its token (undefined when none was sent) and how the protocol answers a refusal. */
export type BearerLoginAttempt = {
  readonly token: string | undefined;
  /** "ip:port" of the client. */
  readonly clientAddr: string;
  readonly connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> };
  readonly verify: (token: string) => Promise<Identity>;
  /**
   * Answers the client's 401 in the protocol's own shape. `detail` is client-safe; `tokenPresented` says whether
   * the challenge carries `error="invalid_token"` (RFC 6750 §3: not when no token was sent).
   */
  readonly answer: (detail: string, tokenPresented: boolean) => void;
};

/**
 * Verifies a bearer token. A missing token or one that does not verify is counted, recorded as a `login_refused`
 * event (with the identity only when the signature verified), answered by the protocol, and gives undefined.
 * Errors other than a token's refusal propagate.
 */
export async function bearerLogin(d: BearerLoginDeps, a: BearerLoginAttempt): Promise<Identity | undefined> {
  const refuse = (reason: RefusalReason, code: string, detail: string, identity?: Identity) => {
    d.metrics?.loginFailed(code);
    d.refusals?.record({
      protocol: d.protocol,
      reason,
      code,
      clientAddr: a.clientAddr,
      connection: a.connection.name,
      tags: a.connection.tags,
      detail,
      identity,
    });
    a.answer(detail, a.token !== undefined);
    return undefined;
  };
  if (a.token === undefined)
    return refuse(RefusalReason.noToken, 'GH_ERR_UNAUTHENTICATED', 'a bearer token is required');
  try {
    return await a.verify(a.token);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    return refuse(tokenRefusalReason(err), err.code, err.message, err.verifiedIdentity);
  }
}
