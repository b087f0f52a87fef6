import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoginError } from './errors.js';

const DONE_PAGE =
  '<!doctype html><meta charset="utf-8"><title>Gatehouse login</title>' +
  '<p>Logged in. You can close this window and go back to the terminal.</p>';
const FAILED_PAGE =
  '<!doctype html><meta charset="utf-8"><title>Gatehouse login</title><p>The login failed; see the terminal.</p>';

export type LoopbackRedirect = {
  /** `http://127.0.0.1:PORT/callback`. */
  readonly redirectUri: string;
  /** The callback URL the browser was sent to, once one carrying `state` arrives; rejects after `timeoutMs`. */
  readonly callback: Promise<URL>;
  close(): Promise<void>;
};

/**
 * A one-shot loopback redirect receiver for a native app (RFC 8252 §7.3): listens on 127.0.0.1 on a free port and
 * waits for `GET /callback?…&state=STATE`. Requests with another path or state get 400 and are otherwise ignored
 * (another local process cannot end or hijack the login with a guessed request); the first matching one wins.
 */
export async function startLoopbackRedirect(state: string, timeoutMs: number): Promise<LoopbackRedirect> {
  let settle: { resolve(url: URL): void; reject(err: Error): void } | undefined;
  const callback = new Promise<URL>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The caller may stop waiting (Ctrl-C); an unobserved rejection must not crash the process.
  callback.catch(() => undefined);
  let base = 'http://127.0.0.1';
  const server: Server = createServer((req, res) => {
    // The full redirect URI, port included: the token request must repeat it exactly.
    const url = new URL(req.url ?? '/', base);
    if (req.method !== 'GET' || url.pathname !== '/callback' || url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('not a login callback\n');
      return;
    }
    const failed = url.searchParams.has('error');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(failed ? FAILED_PAGE : DONE_PAGE);
    settle?.resolve(url);
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new LoginError('cannot listen on 127.0.0.1 for the login redirect', { cause: err })),
    );
    server.listen(0, '127.0.0.1', resolve);
  });
  const timer = setTimeout(
    () => settle?.reject(new LoginError(`no login completed within ${Math.round(timeoutMs / 1000)} s`)),
    timeoutMs,
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    redirectUri: `${base}/callback`,
    callback,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
