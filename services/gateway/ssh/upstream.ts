import ssh2 from 'ssh2';
import type { Client, ConnectConfig } from 'ssh2';
import type { Logger } from '../../shared/logger.js';
import { SshErrorCode, SshGatewayError } from './errors.js';
import { hostKeyFingerprint, isPinned } from './host-key.js';
import type { PinnedHostKey } from './host-key.js';

/** Credentials the gateway holds for one upstream; read when a session logs in, never shown to anyone. */
export type SshUpstreamCredentials =
  { readonly privateKey: string; readonly passphrase?: string | undefined } | { readonly password: string };

/** Where and how the gateway logs in upstream for one connection. */
export type SshUpstreamTarget = {
  readonly connection: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly credentials: () => SshUpstreamCredentials;
  /** The pinned host keys, or null when verification is off. */
  readonly hostKeys: readonly PinnedHostKey[] | null;
  readonly connectTimeoutMs: number;
};

const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 3;

/**
 * Opens and authenticates the upstream SSH connection with the gateway's own credentials, verifying the upstream
 * host key against the pinned ones. Rejects with an `SshGatewayError` whose message names only the connection;
 * the cause (logged by the caller) holds ssh2's message, which never contains key material.
 */
export function connectUpstream(target: SshUpstreamTarget, log: Logger): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let presented: Buffer | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('ready');
      client.on('error', () => undefined);
      client.end();
      if (presented && target.hostKeys && !isPinned(target.hostKeys, presented)) {
        log.error(
          { connection: target.connection, presented: hostKeyFingerprint(presented) },
          'upstream host key does not match the pinned key',
        );
        reject(
          new SshGatewayError(
            SshErrorCode.upstreamHostKey,
            `upstream host key for connection "${target.connection}" does not match the pinned key`,
            { cause: err },
          ),
        );
        return;
      }
      reject(
        new SshGatewayError(
          SshErrorCode.upstream,
          `upstream for connection "${target.connection}" is unavailable`,
          {
            cause: err,
          },
        ),
      );
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      // `fail` stays attached as a no-op 'error' listener until the session attaches its own.
      resolve(client);
    });
    client.on('error', fail);
    client.once('close', () => fail(new Error('connection closed during login')));
    let config: ConnectConfig;
    try {
      const creds = target.credentials();
      config = {
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: target.connectTimeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        // Only the gateway's own credentials: never the client's agent, never keyboard prompts.
        agent: undefined,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          presented = key;
          return target.hostKeys === null || isPinned(target.hostKeys, key);
        },
        ...('privateKey' in creds
          ? { privateKey: creds.privateKey, ...(creds.passphrase ? { passphrase: creds.passphrase } : {}) }
          : { password: creds.password }),
      };
    } catch (err) {
      fail(err as Error);
      return;
    }
    try {
      client.connect(config);
    } catch (err) {
      // ssh2 throws synchronously for an unparsable key: its message names the problem, not the key.
      fail(err as Error);
    }
  });
}
