import { parseArgs } from 'node:util';
import { createLogger } from '../../services/shared/logger.js';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_AUDIENCE } from './constants.js';
import { IdpUsageError } from './errors.js';
import { startIdp } from './start-idp.js';

export type RunIdpIo = {
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Stops the IdP when aborted; without it, SIGINT/SIGTERM do. */
  signal?: AbortSignal;
};

/** Default port of the standalone dev IdP (`GATEHOUSE_IDP_PORT`). */
export const DEFAULT_IDP_PORT = 9400;

export const RUN_IDP_USAGE = `usage: gatehouse idp [--port N] [--host ADDR] [--issuer-path /PATH] [--audience AUD]
                    [--jwks-file FILE] [--ttl SECONDS] [--log-level LEVEL]
                    [--user NAME=GROUP,GROUP[:EMAIL]]...

Runs the local development OpenID Provider. Prints its issuer URL on stdout, then serves until SIGINT/SIGTERM.
Environment: GATEHOUSE_IDP_PORT, GATEHOUSE_IDP_HOST, GATEHOUSE_IDP_ISSUER_PATH, GATEHOUSE_IDP_AUDIENCE,
             GATEHOUSE_IDP_JWKS_FILE, GATEHOUSE_IDP_TOKEN_TTL (flags win).
Clients: gatehouse-dev / gatehouse-dev-secret (grant urn:gatehouse:dev-user, DEV ONLY),
         gatehouse-agent / gatehouse-agent-secret (client_credentials; agent tokens, groups [agents]),
         gatehouse-web (public, authorization code + PKCE; redirect http://127.0.0.1/auth/callback on any port).
Web login uses a development login form that accepts ANY name and password (DEV ONLY); --user gives a name its
groups and email, e.g. --user sam=soc:sam@example.com (default: soc-analyst=soc, reviewer=dba).
`;

/** `NAME=GROUP,GROUP[:EMAIL]` → a dev login account. */
function parseUser(spec: string): [string, { groups: string[]; email?: string }] {
  const m = /^([^=\s]+)=([^:\s]*)(?::(\S+@\S+))?$/.exec(spec);
  if (!m) throw new IdpUsageError(`--user ${spec}: expected NAME=GROUP,GROUP[:EMAIL]`);
  const groups = m[2]!.split(',').filter((g) => g !== '');
  return [m[1]!, m[3] === undefined ? { groups } : { groups, email: m[3] }];
}

function integer(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new IdpUsageError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

/**
 * `gatehouse idp`: starts the dev IdP standalone. Resolves with the exit code after a shutdown signal
 * (0), or 2 on a usage error. A second signal is left to Node's default handling (immediate exit).
 */
export async function runIdp(argv: readonly string[], io: RunIdpIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'issuer-path': { type: 'string' },
        audience: { type: 'string' },
        'jwks-file': { type: 'string' },
        ttl: { type: 'string' },
        'log-level': { type: 'string' },
        user: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    stderr.write(`${(err as Error).message}\n${RUN_IDP_USAGE}`);
    return 2;
  }
  if (values.help) {
    stdout.write(RUN_IDP_USAGE);
    return 0;
  }
  let port: number;
  let ttl: number;
  let users: Record<string, { groups: string[]; email?: string }>;
  try {
    users = Object.fromEntries(
      (values.user ?? ['soc-analyst=soc:soc-analyst@example.com', 'reviewer=dba:reviewer@example.com']).map(
        parseUser,
      ),
    );
    port = integer('--port', values.port ?? env['GATEHOUSE_IDP_PORT'], DEFAULT_IDP_PORT, 0, 65535);
    ttl = integer(
      '--ttl',
      values.ttl ?? env['GATEHOUSE_IDP_TOKEN_TTL'],
      DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      1,
      86400,
    );
  } catch (err) {
    stderr.write(`${(err as Error).message}\n${RUN_IDP_USAGE}`);
    return 2;
  }
  const logger = createLogger({ service: 'idp', level: values['log-level'] ?? 'info', destination: stderr });
  const jwksFile = values['jwks-file'] ?? env['GATEHOUSE_IDP_JWKS_FILE'];
  const idp = await startIdp({
    port,
    host: values.host ?? env['GATEHOUSE_IDP_HOST'] ?? '127.0.0.1',
    issuerPath: values['issuer-path'] ?? env['GATEHOUSE_IDP_ISSUER_PATH'],
    audience: values.audience ?? env['GATEHOUSE_IDP_AUDIENCE'] ?? DEFAULT_AUDIENCE,
    accessTokenTtlSeconds: ttl,
    users,
    ...(jwksFile ? { jwksFile } : {}),
    logger,
  });
  stdout.write(`${idp.issuer}\n`);

  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      io.signal?.removeEventListener('abort', done);
      resolve();
    };
    if (io.signal) {
      if (io.signal.aborted) return done();
      io.signal.addEventListener('abort', done, { once: true });
    } else {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    }
  });
  await idp.stop();
  logger.info('dev IdP stopped');
  return 0;
}
