import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CLIENT_SECRET } from '../../dev/idp/index.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';
import { runGatehouseCli } from '../support/gatehouse-cli.js';
import type { CliRun } from '../support/gatehouse-cli.js';
import { startGatewayFixture } from '../support/gateway.js';
import type { GatewayFixture } from '../support/gateway.js';
import { SSH_CLIENT_OPTIONS, startSshGatewayFixture } from '../support/ssh-gateway.js';
import type { SshGatewayFixture } from '../support/ssh-gateway.js';

type CacheFile = {
  current?: string;
  tokens: Record<string, { accessToken: string; refreshToken?: string; expiresAt: number }>;
};

let fx: GatewayFixture;
let home: string;
const secrets: string[] = [AGENT_CLIENT_SECRET];

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    GATEHOUSE_OIDC_ISSUER: fx.idp.issuer,
    GATEHOUSE_PG_HOST: '127.0.0.1',
    GATEHOUSE_PG_PORT: String(fx.pgPort),
    ...extra,
  };
}

const cachePath = (): string => join(home, 'config', 'gatehouse', 'tokens.json');
const readCache = async (): Promise<CacheFile> =>
  JSON.parse(await readFile(cachePath(), 'utf8')) as CacheFile;

/** No token, refresh token or client secret ever appears in what the CLI printed. */
async function expectNoSecrets(run: CliRun): Promise<void> {
  const cache = await readCache().catch(() => ({ tokens: {} }));
  const known = [
    ...secrets,
    ...Object.values(cache.tokens).flatMap((t) => [t.accessToken, t.refreshToken ?? '']),
  ].filter((s) => s.length > 8);
  for (const s of known) {
    expect(run.stdout).not.toContain(s);
    expect(run.stderr).not.toContain(s);
  }
}

/** Logs in at the dev IdP's form (any password) and grants consent when asked. */
async function loginAtIdp(page: Page, user: string): Promise<void> {
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'anything');
  await page.click('button[type="submit"]');
  const consent = page.locator('button[autofocus]', { hasText: 'Continue' });
  await page.waitForLoadState('load');
  if (page.url().startsWith(fx.idp.issuer) && (await consent.count()) > 0) await consent.click();
}

beforeAll(async () => {
  fx = await startGatewayFixture({
    idp: { users: { dora: { groups: ['dba'], email: 'dora@example.test' } } },
  });
  home = await mkdtemp(join(tmpdir(), 'gatehouse-login-'));
});

afterAll(async () => {
  await fx?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('gatehouse login --client-credentials (agents) and gatehouse psql', () => {
  it('caches the token in a 0600 file without the secret, and psql runs with it', async () => {
    const login = await runGatehouseCli(
      ['login', '--client-credentials', '--client-id', 'gatehouse-agent'],
      env({ GATEHOUSE_CLIENT_SECRET: AGENT_CLIENT_SECRET }),
    );
    expect(login.stderr).toContain(`Logged in at ${fx.idp.issuer} as gatehouse-agent`);
    expect(login.status).toBe(0);
    expect((await stat(cachePath())).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'config', 'gatehouse'))).mode & 0o777).toBe(0o700);
    const cacheText = await readFile(cachePath(), 'utf8');
    expect(cacheText).not.toContain(AGENT_CLIENT_SECRET);
    await expectNoSecrets(login);

    const q = await runGatehouseCli(['psql', 'demo-pg', '-XAtc', 'select 40 + 2'], env());
    expect(q.stderr).toBe('');
    expect(q.stdout.trim()).toBe('42');
    expect(q.status).toBe(0);
    await expectNoSecrets(q);
  });

  it("passes psql's exit status through and refuses options that would go to psql before the connection", async () => {
    const bad = await runGatehouseCli(['psql', 'demo-pg', '-XAtc', 'select * from no_such_table'], env());
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^ERROR: /m);
    const injected = await runGatehouseCli(['psql', '-h', 'elsewhere', 'demo-pg'], env());
    expect(injected.status).toBe(2);
    expect(injected.stderr).toContain('unknown option -h before CONNECTION');
  });

  it('renews an expired client-credentials token from the secret in the environment, else says to log in', async () => {
    const before = await readCache();
    const key = before.current!;
    before.tokens[key]!.expiresAt = Math.floor(Date.now() / 1000) - 10;
    await writeFile(cachePath(), JSON.stringify(before), { mode: 0o600 });
    const renewed = await runGatehouseCli(
      ['psql', 'demo-pg', '-XAtc', 'select 1'],
      env({ GATEHOUSE_CLIENT_SECRET: AGENT_CLIENT_SECRET }),
    );
    expect(renewed.stdout.trim()).toBe('1');
    const after = await readCache();
    expect(after.tokens[key]!.accessToken).not.toBe(before.tokens[key]!.accessToken);
    expect(after.tokens[key]!.expiresAt).toBeGreaterThan(Date.now() / 1000);

    after.tokens[key]!.expiresAt = Math.floor(Date.now() / 1000) - 10;
    await writeFile(cachePath(), JSON.stringify(after), { mode: 0o600 });
    const stale = await runGatehouseCli(['psql', 'demo-pg', '-XAtc', 'select 1'], env());
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain('run `gatehouse login`');
    expect(stale.stdout).toBe('');
  });

  it('refuses a cache file other users can read, and never prints its tokens', async () => {
    await chmod(cachePath(), 0o644);
    const r = await runGatehouseCli(['psql', 'demo-pg', '-XAtc', 'select 1'], env());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('readable by other users (mode 644)');
    await chmod(cachePath(), 0o600);
    await expectNoSecrets(r);
  });

  it('gives clear errors: wrong secret, no secret, plain-HTTP remote issuer, unreachable issuer, bad flags', async () => {
    const wrong = await runGatehouseCli(
      ['login', '--client-credentials', '--client-id', 'gatehouse-agent'],
      env({ GATEHOUSE_CLIENT_SECRET: 'not-the-secret' }),
    );
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('the provider refused the client credentials: invalid_client');
    const none = await runGatehouseCli(
      ['login', '--client-credentials', '--client-id', 'gatehouse-agent'],
      env(),
    );
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('needs $GATEHOUSE_CLIENT_SECRET or --client-secret-file');
    const plain = await runGatehouseCli(['login', '--issuer', 'http://idp.example.test'], env());
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain('refusing plain-HTTP issuer');
    const down = await runGatehouseCli(['login', '--issuer', 'http://127.0.0.1:9', '--no-browser'], env());
    expect(down.status).toBe(1);
    expect(down.stderr).toContain("cannot read the provider's metadata at http://127.0.0.1:9");
    const both = await runGatehouseCli(['login', '--device', '--client-credentials'], env());
    expect(both.status).toBe(2);
    const timeout = await runGatehouseCli(['login', '--timeout', '0'], env());
    expect(timeout.status).toBe(2);
  });
});

describe('gatehouse ssh', () => {
  let ssh: SshGatewayFixture;
  let sshEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    ssh = await startSshGatewayFixture();
    const sshHome = await mkdtemp(join(home, 'ssh-'));
    sshEnv = {
      HOME: sshHome,
      XDG_CONFIG_HOME: sshHome,
      GATEHOUSE_OIDC_ISSUER: ssh.idp.issuer,
      GATEHOUSE_SSH_HOST: '127.0.0.1',
      GATEHOUSE_SSH_PORT: String(ssh.port),
    };
    const login = await runGatehouseCli(['login', '--client-credentials', '--client-id', 'gatehouse-agent'], {
      ...sshEnv,
      GATEHOUSE_CLIENT_SECRET: AGENT_CLIENT_SECRET,
    });
    expect(login.status).toBe(0);
  });

  afterAll(async () => {
    await ssh?.stop();
  });

  it('answers the password prompt from the cache through SSH_ASKPASS and passes the exit status through', async () => {
    const r = await runGatehouseCli(
      ['ssh', ...SSH_CLIENT_OPTIONS, '-o', 'LogLevel=ERROR', 'demo-ssh', 'uname -s'],
      sshEnv,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Linux\n');
    expect(r.status).toBe(0);
    const failed = await runGatehouseCli(
      ['ssh', ...SSH_CLIENT_OPTIONS, '-o', 'LogLevel=ERROR', 'demo-ssh', 'ls /no-such-dir'],
      sshEnv,
    );
    expect(failed.status).toBe(2);
    expect(failed.stderr).not.toContain('assword');
    await expectNoSecrets(r);
    await expectNoSecrets(failed);
  });

  it('never sends the token to a host-key question, and refuses a user name or an option after which ssh would parse the connection', async () => {
    const knownHosts = join(sshEnv.HOME!, 'known_hosts');
    const strict = await runGatehouseCli(
      [
        'ssh',
        '-o',
        'StrictHostKeyChecking=ask',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        'demo-ssh',
        'true',
      ],
      sshEnv,
    );
    expect(strict.status).toBe(255);
    expect(strict.stderr).toContain('Host key verification failed');
    const user = await runGatehouseCli(['ssh', '--user', 'root', 'demo-ssh'], sshEnv);
    expect(user.status).toBe(2);
    const dash = await runGatehouseCli(['ssh', '-oProxyCommand=touch /tmp/x', 'demo-ssh'], sshEnv);
    expect(dash.status).toBe(2);
    expect(dash.stderr).toContain('unknown option');
  });
});

describe.skipIf(chromiumSkipReason !== undefined)('gatehouse login for people, in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('authorization code + PKCE on a loopback redirect: a forged callback is ignored, the real one logs in', async () => {
    let loginUrl: string | undefined;
    const run = runGatehouseCli(['login', '--no-browser', '--timeout', '60'], env(), {
      onStderr: (text) => {
        loginUrl ??= /Log in at:\s+(\S+)/.exec(text)?.[1];
      },
    });
    await expect.poll(() => loginUrl, { timeout: 20_000 }).toBeDefined();
    const url = new URL(loginUrl!);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const redirect = new URL(url.searchParams.get('redirect_uri')!);
    expect(redirect.hostname).toBe('127.0.0.1');
    // Another local process guessing at the callback gets 400 and does not end the login.
    const forged = await fetch(`${redirect.href}?code=x&state=guess`);
    expect(forged.status).toBe(400);

    const page = await browser.newPage();
    await page.goto(url.href);
    await loginAtIdp(page, 'dora');
    await page.waitForURL((u) => u.href.startsWith(redirect.href));
    expect(await page.textContent('body')).toContain('Logged in');
    await page.close();
    const login = await run;
    expect(login.stderr).toContain('as dora@example.test');
    expect(login.stderr).toContain('(renewed automatically)');
    expect(login.status).toBe(0);
    await expectNoSecrets(login);

    const q = await runGatehouseCli(['psql', 'demo-pg', '-XAtc', 'select current_user is not null'], env());
    expect(q.stdout.trim()).toBe('t');
  });

  it('refreshes an expired token with the refresh token', async () => {
    const before = await readCache();
    const key = before.current!;
    const old = before.tokens[key]!;
    expect(old.refreshToken).toBeDefined();
    old.expiresAt = Math.floor(Date.now() / 1000) - 1;
    await writeFile(cachePath(), JSON.stringify(before), { mode: 0o600 });
    const q = await runGatehouseCli(['psql', 'demo-pg', '-XAtc', 'select 7'], env());
    expect(q.stdout.trim()).toBe('7');
    const after = (await readCache()).tokens[key]!;
    expect(after.accessToken).not.toBe(old.accessToken);
    expect(after.expiresAt).toBeGreaterThan(Date.now() / 1000);
    await expectNoSecrets(q);
  });

  it('the device-authorization grant: a URL and a code, confirmed in the browser', async () => {
    let complete: string | undefined;
    const run = runGatehouseCli(['login', '--device', '--timeout', '60'], env(), {
      onStderr: (text) => {
        complete ??= /\(or open (\S+)\)/.exec(text)?.[1];
      },
    });
    await expect.poll(() => complete, { timeout: 20_000 }).toBeDefined();
    const page = await browser.newPage();
    await page.goto(complete!);
    // The provider's confirmation page for the pre-filled code, then its login form.
    await page.locator('button[type="submit"], input[type="submit"]').first().click();
    await loginAtIdp(page, 'dora');
    await page.close();
    const login = await run;
    expect(login.stderr).toContain('To log in, open');
    expect(login.stderr).toContain('as dora@example.test');
    expect(login.status).toBe(0);
    await expectNoSecrets(login);
  });

  it('a login nobody completes ends with a clear error after --timeout', async () => {
    const r = await runGatehouseCli(['login', '--no-browser', '--timeout', '2'], env());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no login completed within 2 s');
  });
});
