import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TokenCacheError } from './errors.js';

/** One cached login: what renews it, never a client secret (client credentials re-read theirs from env or file). */
const cachedTokenSchema = z.object({
  issuer: z.string(),
  clientId: z.string(),
  grant: z.enum(['authorization_code', 'device_code', 'client_credentials']),
  accessToken: z.string(),
  /** Seconds since the epoch; 0 when the provider said nothing. */
  expiresAt: z.number().int().nonnegative(),
  refreshToken: z.string().optional(),
  scope: z.string().optional(),
  resource: z.string().optional(),
  /** Client credentials only: the file the secret was read from, to renew without asking. */
  clientSecretFile: z.string().optional(),
});

const cacheFileSchema = z.object({
  version: z.literal(1),
  /** The issuer `gatehouse psql`/`ssh` use when none is named: the last login. */
  current: z.string().optional(),
  tokens: z.record(z.string(), cachedTokenSchema),
});

export type CachedToken = z.infer<typeof cachedTokenSchema>;
type CacheFile = z.infer<typeof cacheFileSchema>;

const MAX_CACHE_BYTES = 1024 * 1024;

/** `$GATEHOUSE_TOKEN_CACHE`, else `$XDG_CONFIG_HOME/gatehouse/tokens.json`, else `~/.config/gatehouse/tokens.json`. */
export function defaultCachePath(env: NodeJS.ProcessEnv): string {
  if (env.GATEHOUSE_TOKEN_CACHE) return env.GATEHOUSE_TOKEN_CACHE;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'gatehouse', 'tokens.json');
}

/**
 * The token cache: one JSON file, one entry per issuer, readable only by its owner. Like OpenSSH with private keys,
 * a file other users can read is refused (not silently fixed): its tokens may already have leaked.
 */
export class TokenCache {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async get(issuer: string | undefined): Promise<CachedToken | undefined> {
    const file = await this.read();
    const key = issuer ?? file.current;
    return key === undefined ? undefined : file.tokens[key];
  }

  /** The issuer of the last login, if any. */
  async current(): Promise<string | undefined> {
    return (await this.read()).current;
  }

  async put(token: CachedToken): Promise<void> {
    const file = await this.read();
    file.tokens[token.issuer] = token;
    file.current = token.issuer;
    await this.write(file);
  }

  /** Forgets one issuer's login (or every login); true when something was removed. */
  async remove(issuer: string | undefined): Promise<boolean> {
    const file = await this.read();
    if (issuer === undefined) {
      const had = Object.keys(file.tokens).length > 0;
      await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw new TokenCacheError(`cannot remove ${this.path}`, { cause: err });
      });
      return had;
    }
    if (!Object.hasOwn(file.tokens, issuer)) return false;
    delete file.tokens[issuer];
    if (file.current === issuer) delete file.current;
    await this.write(file);
    return true;
  }

  private async read(): Promise<CacheFile> {
    let text: string;
    try {
      const st = await stat(this.path);
      if ((st.mode & 0o077) !== 0) {
        throw new TokenCacheError(
          `${this.path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); its tokens may have leaked: ` +
            `remove it and log in again, or chmod 600 it`,
        );
      }
      if (st.size > MAX_CACHE_BYTES)
        throw new TokenCacheError(`${this.path} is larger than ${MAX_CACHE_BYTES} bytes`);
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (err instanceof TokenCacheError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, tokens: {} };
      throw new TokenCacheError(`cannot read ${this.path}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new TokenCacheError(`${this.path} is not JSON; remove it and log in again`);
    }
    const r = cacheFileSchema.safeParse(parsed);
    if (!r.success)
      throw new TokenCacheError(`${this.path} is not a Gatehouse token cache; remove it and log in again`);
    return r.data;
  }

  /** Writes a new file (mode 0600, in a 0700 directory) and renames it over the old one: never a partial file. */
  private async write(file: CacheFile): Promise<void> {
    const dir = dirname(this.path);
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new TokenCacheError(`cannot write ${this.path}`, { cause: err });
    }
  }
}
