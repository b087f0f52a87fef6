import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:os';
import { displaySubject, namedIssuer, processLoginIo, reportLoginError, tokenCache } from './cli-io.js';
import type { LoginIo } from './cli-io.js';
import { ClientExecError, LoginUsageError } from './errors.js';
import { obtainToken } from './obtain-token.js';

export const PSQL_USAGE = `usage: gatehouse psql [--issuer URL] [--host H] [--port P] [--user U] CONNECTION [psql arguments…]

Runs psql against the gateway's connection CONNECTION with your cached token as the password (PGPASSWORD),
renewing it first when it is about to expire. Host and port default to $GATEHOUSE_PG_HOST/$GATEHOUSE_PG_PORT;
TLS is required (PGSSLMODE defaults to require).
`;

export const SSH_USAGE = `usage: gatehouse ssh [--issuer URL] [--host H] [--port P] [-o OPTION]… [-t|-T] CONNECTION [command…]

Runs OpenSSH against the gateway's connection CONNECTION with your cached token as the password (answered
through SSH_ASKPASS, never on the command line). Host and port default to $GATEHOUSE_SSH_HOST (else
$GATEHOUSE_PG_HOST) and $GATEHOUSE_SSH_PORT.
`;

type ClientArgs = {
  issuer?: string;
  host?: string;
  port?: string;
  user?: string;
  clientOptions: string[];
  connection: string;
  rest: string[];
};

const VALUE_OPTIONS = new Set(['--issuer', '--host', '--port', '--user']);

/**
 * Gatehouse's own options, then CONNECTION, then everything for the client untouched (psql's `-c`, a remote
 * command). `passThrough` names client options allowed before CONNECTION (ssh's `-o X`, `-t`).
 */
function parseClientArgs(argv: readonly string[], passThrough: ReadonlyMap<string, boolean>): ClientArgs {
  const out: Partial<ClientArgs> & { clientOptions: string[] } = { clientOptions: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if (VALUE_OPTIONS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new LoginUsageError(`${name} needs a value`);
      out[name.slice(2) as 'issuer' | 'host' | 'port' | 'user'] = value;
    } else if (passThrough.has(name)) {
      out.clientOptions.push(name);
      if (passThrough.get(name)) {
        const value = argv[++i];
        if (value === undefined) throw new LoginUsageError(`${name} needs a value`);
        out.clientOptions.push(value);
      }
    } else {
      throw new LoginUsageError(`unknown option ${name} before CONNECTION (client options go after it)`);
    }
  }
  const connection = argv[i];
  if (connection === undefined || connection === '') throw new LoginUsageError('name the CONNECTION');
  if (out.port !== undefined && !/^\d{1,5}$/.test(out.port))
    throw new LoginUsageError('--port: a port number');
  return { ...out, connection, rest: argv.slice(i + 1) };
}

/** Runs `command` with the terminal, forwarding SIGTERM/SIGHUP; its exit code (128+signal when killed). */
function runClient(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    // Ctrl-C reaches the client through the terminal; this process only waits for it.
    const ignore = (): void => undefined;
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onTerm = forward('SIGTERM');
    const onHup = forward('SIGHUP');
    process.on('SIGINT', ignore);
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    const done = (): void => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(
        new ClientExecError(
          err.code === 'ENOENT' ? `${command} is not installed (or not on PATH)` : `cannot start ${command}`,
          { cause: err },
        ),
      );
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/** `gatehouse psql CONNECTION …`: psql's exit code; 1 when no token can be had, 2 on bad arguments. */
export async function runPsql(argv: string[], io: LoginIo = processLoginIo): Promise<number> {
  try {
    if (argv[0] === '--help') {
      io.stdout(PSQL_USAGE);
      return 0;
    }
    const a = parseClientArgs(argv, new Map());
    const token = await obtainToken(tokenCache(io), namedIssuer(a.issuer, io), io.env);
    const host = a.host ?? (io.env.GATEHOUSE_PG_HOST || '127.0.0.1');
    const port = a.port ?? (io.env.GATEHOUSE_PG_PORT || '5432');
    const user = a.user ?? displaySubject(token.accessToken) ?? 'gatehouse';
    const conninfo = `host=${quote(host)} port=${port} dbname=${quote(a.connection)} user=${quote(user)}`;
    return await runClient('psql', [conninfo, ...a.rest], {
      ...io.env,
      PGPASSWORD: token.accessToken,
      PGSSLMODE: io.env.PGSSLMODE || 'require',
    });
  } catch (err) {
    return reportLoginError(err, io, PSQL_USAGE);
  }
}

/** A libpq conninfo value, quoted. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The askpass program: answers only the password prompt (never a host-key question) with the token from its env. */
const ASKPASS_SCRIPT = `#!/bin/sh
case "$1" in
  *assword*) printf '%s\\n' "$GATEHOUSE_ASKPASS_TOKEN" ;;
  *) exit 1 ;;
esac
`;

/** `gatehouse ssh CONNECTION …`: ssh's exit code; 1 when no token can be had, 2 on bad arguments. */
export async function runSsh(argv: string[], io: LoginIo = processLoginIo): Promise<number> {
  try {
    if (argv[0] === '--help') {
      io.stdout(SSH_USAGE);
      return 0;
    }
    const a = parseClientArgs(
      argv,
      new Map([
        ['-o', true],
        ['-t', false],
        ['-T', false],
        ['-v', false],
      ]),
    );
    if (a.user !== undefined) throw new LoginUsageError('--user: the SSH user is the CONNECTION');
    const token = await obtainToken(tokenCache(io), namedIssuer(a.issuer, io), io.env);
    const host = a.host ?? (io.env.GATEHOUSE_SSH_HOST || io.env.GATEHOUSE_PG_HOST || '127.0.0.1');
    const port = a.port ?? (io.env.GATEHOUSE_SSH_PORT || '22');
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-askpass-'));
    try {
      const askpass = join(dir, 'askpass');
      await writeFile(askpass, ASKPASS_SCRIPT, { mode: 0o700 });
      await chmod(askpass, 0o700);
      const args = [
        '-p',
        port,
        '-o',
        'PreferredAuthentications=keyboard-interactive,password',
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'NumberOfPasswordPrompts=1',
        ...a.clientOptions,
        '--',
        `${a.connection}@${host}`,
        ...a.rest,
      ];
      return await runClient('ssh', args, {
        ...io.env,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: 'force',
        GATEHOUSE_ASKPASS_TOKEN: token.accessToken,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } catch (err) {
    return reportLoginError(err, io, SSH_USAGE);
  }
}
