import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenCacheError } from './errors.js';
import { issuerUrl } from './provider.js';
import { defaultCachePath, TokenCache } from './token-cache.js';
import type { CachedToken } from './token-cache.js';

let dir: string;
const token = (issuer: string, accessToken = 'at-1'): CachedToken => ({
  issuer,
  clientId: 'gatehouse-cli',
  grant: 'authorization_code',
  accessToken,
  expiresAt: 0,
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TokenCache', () => {
  it('keeps one entry per issuer, remembers the last login, and writes 0600 in a 0700 directory', async () => {
    const cache = new TokenCache(join(dir, 'gatehouse', 'tokens.json'));
    expect(await cache.get(undefined)).toBeUndefined();
    await cache.put(token('https://a.example', 'at-a'));
    await cache.put(token('https://b.example', 'at-b'));
    expect((await cache.get(undefined))?.accessToken).toBe('at-b');
    expect((await cache.get('https://a.example'))?.accessToken).toBe('at-a');
    expect((await stat(cache.path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'gatehouse'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'gatehouse'))).toEqual(['tokens.json']);
    expect(await cache.remove('https://b.example')).toBe(true);
    expect(await cache.current()).toBeUndefined();
    expect(await cache.remove(undefined)).toBe(true);
    expect(await cache.get('https://a.example')).toBeUndefined();
  });

  it('refuses a file other users can read, a file that is not JSON, and one of another shape', async () => {
    const path = join(dir, 'tokens.json');
    const cache = new TokenCache(path);
    await cache.put(token('https://a.example'));
    await chmod(path, 0o640);
    await expect(cache.get(undefined)).rejects.toThrow(/readable by other users \(mode 640\)/);
    await writeFile(path, '{not json', { mode: 0o600 });
    await chmod(path, 0o600);
    await expect(cache.get(undefined)).rejects.toBeInstanceOf(TokenCacheError);
    await writeFile(path, JSON.stringify({ version: 2, tokens: [] }));
    await expect(cache.get(undefined)).rejects.toThrow(/not a Gatehouse token cache/);
    expect(await readFile(path, 'utf8')).not.toContain('at-1');
  });

  it('lives in $GATEHOUSE_TOKEN_CACHE, else under $XDG_CONFIG_HOME, else ~/.config', () => {
    expect(defaultCachePath({ GATEHOUSE_TOKEN_CACHE: '/x/t.json' })).toBe('/x/t.json');
    expect(defaultCachePath({ XDG_CONFIG_HOME: '/cfg', HOME: '/h' })).toBe('/cfg/gatehouse/tokens.json');
    expect(defaultCachePath({ HOME: '/h' })).toBe('/h/.config/gatehouse/tokens.json');
  });
});

describe('issuerUrl', () => {
  it('takes https anywhere and http only on loopback', () => {
    expect(issuerUrl('https://idp.example.test/realms/x').href).toBe('https://idp.example.test/realms/x');
    for (const ok of ['http://127.0.0.1:19400', 'http://localhost:1', 'http://[::1]:8080']) {
      expect(issuerUrl(ok).protocol).toBe('http:');
    }
    for (const bad of [
      'http://idp.example.test',
      'http://10.0.0.1',
      'ftp://x',
      'not a url',
      'http://127.0.0.1.evil.test',
    ]) {
      expect(() => issuerUrl(bad)).toThrow();
    }
  });
});
