import { startIdp } from '../../dev/idp/index.js';
import type { RunningIdp } from '../../dev/idp/index.js';

/** A dev IdP and an analyst's token for recorder tests (the replay API needs a token of group soc). */
export type RecorderAuth = {
  idp: RunningIdp;
  /** The `api` section of the recorder config. */
  api: { oidc: { issuer: string; audience: string } };
  token: string;
  /** `fetch` with the analyst's bearer token. */
  get(url: string, init?: RequestInit): Promise<Response>;
};

export async function startRecorderAuth(): Promise<RecorderAuth> {
  const idp = await startIdp({ port: 0, audience: 'gatehouse' });
  const token = await idp.issueToken({ user: 'analyst', groups: ['soc'], email: 'analyst@example.com' });
  return {
    idp,
    api: { oidc: { issuer: idp.issuer, audience: 'gatehouse' } },
    token,
    get: (url, init) =>
      fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, ...init?.headers } }),
  };
}
