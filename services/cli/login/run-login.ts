import { parseArgs } from 'node:util';
import {
  DEFAULT_CLIENT_ID,
  displaySubject,
  namedIssuer,
  openBrowser,
  processLoginIo,
  reportLoginError,
  tokenCache,
} from './cli-io.js';
import type { LoginIo } from './cli-io.js';
import { LoginUsageError } from './errors.js';
import { authorizationCodeLogin, clientCredentialsLogin, deviceLogin } from './flows.js';
import type { LoginRequest, Prompt } from './flows.js';
import { readClientSecret } from './obtain-token.js';

export const LOGIN_USAGE = `usage: gatehouse login [--issuer URL] [--client-id ID] [--scope S] [--resource URI]
                       [--device | --client-credentials [--client-secret-file FILE]]
                       [--no-browser] [--timeout SECONDS]
       gatehouse logout [--issuer URL | --all]

Logs in at an OpenID provider and caches the access token (and refresh token) for \`gatehouse psql\` and
\`gatehouse ssh\`, one entry per issuer, in $XDG_CONFIG_HOME/gatehouse/tokens.json (mode 0600).
  (default)             people: authorization code + PKCE; opens the browser (or prints the URL) and
                        receives the redirect on 127.0.0.1
  --device              people without a browser here: the device-authorization grant (a URL and a code)
  --client-credentials  agents: the client credentials grant; the secret comes from $GATEHOUSE_CLIENT_SECRET
                        or --client-secret-file (never an argument), and is not cached
The issuer defaults to $GATEHOUSE_OIDC_ISSUER, else the last login's; the client id to $GATEHOUSE_OIDC_CLIENT_ID,
else ${DEFAULT_CLIENT_ID}.
`;

const DEFAULT_TIMEOUT_SECONDS = 300;
const MAX_TIMEOUT_SECONDS = 3600;

/** `gatehouse login …`: 0 when a token is cached, 1 when the login failed, 2 on bad arguments. */
export async function runLogin(argv: string[], io: LoginIo = processLoginIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        issuer: { type: 'string' },
        'client-id': { type: 'string' },
        scope: { type: 'string' },
        resource: { type: 'string' },
        device: { type: 'boolean', default: false },
        'client-credentials': { type: 'boolean', default: false },
        'client-secret-file': { type: 'string' },
        'no-browser': { type: 'boolean', default: false },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(LOGIN_USAGE);
      return 0;
    }
    if (values.device && values['client-credentials']) {
      throw new LoginUsageError('--device and --client-credentials exclude each other');
    }
    if (values['client-secret-file'] !== undefined && !values['client-credentials']) {
      throw new LoginUsageError('--client-secret-file goes with --client-credentials');
    }
    const timeoutSeconds = values.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(values.timeout);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw new LoginUsageError(`--timeout: whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}`);
    }
    const cache = tokenCache(io);
    const issuer = namedIssuer(values.issuer, io) ?? (await cache.current());
    if (issuer === undefined)
      throw new LoginUsageError('name the provider: --issuer URL or $GATEHOUSE_OIDC_ISSUER');
    const clientId = values['client-id'] ?? (io.env.GATEHOUSE_OIDC_CLIENT_ID || DEFAULT_CLIENT_ID);
    const resource = values.resource ?? (io.env.GATEHOUSE_OIDC_RESOURCE || undefined);
    const request: LoginRequest = {
      issuer,
      clientId,
      scope: values.scope ?? (values['client-credentials'] ? '' : 'openid offline_access'),
      timeoutMs: timeoutSeconds * 1000,
      ...(resource === undefined ? {} : { resource }),
    };
    const prompt: Prompt = {
      show: (text) => io.stderr(`${text}\n`),
      open: (url) => {
        if (!values['no-browser']) openBrowser(url, io);
      },
    };
    let token;
    if (values['client-credentials']) {
      const secretFile = values['client-secret-file'];
      const clientSecret = await readClientSecret(io.env, secretFile);
      if (clientSecret === undefined) {
        throw new LoginUsageError(
          '--client-credentials needs $GATEHOUSE_CLIENT_SECRET or --client-secret-file',
        );
      }
      token = await clientCredentialsLogin({ ...request, clientSecret, clientSecretFile: secretFile });
    } else {
      token = values.device
        ? await deviceLogin(request, prompt)
        : await authorizationCodeLogin(request, prompt);
    }
    await cache.put(token);
    const who = displaySubject(token.accessToken);
    const until =
      token.expiresAt === 0 ? '' : `, token valid until ${new Date(token.expiresAt * 1000).toISOString()}`;
    io.stderr(
      `Logged in at ${issuer}${who === undefined ? '' : ` as ${who}`}${until}` +
        `${token.refreshToken === undefined ? '' : ' (renewed automatically)'}\n`,
    );
    return 0;
  } catch (err) {
    return reportLoginError(err, io, LOGIN_USAGE);
  }
}

/** `gatehouse logout [--issuer URL | --all]`: forgets cached tokens. 0 always unless the cache is unusable. */
export async function runLogout(argv: string[], io: LoginIo = processLoginIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { issuer: { type: 'string' }, all: { type: 'boolean', default: false } },
    });
    const cache = tokenCache(io);
    const issuer = values.all ? undefined : (namedIssuer(values.issuer, io) ?? (await cache.current()));
    if (!values.all && issuer === undefined) {
      io.stderr('not logged in\n');
      return 0;
    }
    const removed = await cache.remove(issuer);
    io.stderr(
      removed ? `Logged out${issuer === undefined ? ' everywhere' : ` of ${issuer}`}\n` : 'not logged in\n',
    );
    return 0;
  } catch (err) {
    return reportLoginError(err, io, LOGIN_USAGE);
  }
}
