import { spawn } from 'node:child_process';
import { GatehouseError } from '../../shared/errors.js';
import { LoginUsageError } from './errors.js';
import { defaultCachePath, TokenCache } from './token-cache.js';

/** What the login commands touch outside themselves, injectable for tests. */
export type LoginIo = {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
};

export const processLoginIo: LoginIo = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export const DEFAULT_CLIENT_ID = 'gatehouse-cli';

export function tokenCache(io: LoginIo): TokenCache {
  return new TokenCache(defaultCachePath(io.env));
}

/** The issuer named by `--issuer`, else `$GATEHOUSE_OIDC_ISSUER`; undefined means "the last login's". */
export function namedIssuer(flag: string | undefined, io: LoginIo): string | undefined {
  const issuer = flag ?? io.env.GATEHOUSE_OIDC_ISSUER;
  return issuer === undefined || issuer === '' ? undefined : issuer.replace(/\/+$/, '');
}

/** Opens a URL in the user's browser when there is one; silent when there is not (the URL is printed anyway). */
export function openBrowser(url: string, io: LoginIo): void {
  const command =
    process.platform === 'darwin'
      ? 'open'
      : io.env.DISPLAY || io.env.WAYLAND_DISPLAY
        ? 'xdg-open'
        : undefined;
  if (command === undefined) return;
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.stderr(`(could not start ${command}; open the URL yourself)\n`));
  child.unref();
}

/** Subject of a JWT access token for display ("logged in as …"); undefined for opaque tokens. Not a verification. */
export function displaySubject(accessToken: string): string | undefined {
  const payload = accessToken.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const email = claims['email'];
    const sub = claims['sub'];
    return typeof email === 'string' ? email : typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Prints an error the way every login command does; returns the exit code (2 for usage, else 1). */
export function reportLoginError(err: unknown, io: LoginIo, usage: string): number {
  const usageError =
    err instanceof LoginUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
  if (usageError) {
    io.stderr(`gatehouse: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  io.stderr(`gatehouse: ${err instanceof GatehouseError ? err.message : String(err)}\n`);
  return 1;
}
