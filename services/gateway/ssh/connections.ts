import { readFileSync } from 'node:fs';
import { resolveSecret } from '../../shared/config/secrets.js';
import type { ConnectionConfig, SshConnectionConfig } from '../config.js';
import { SshErrorCode, SshGatewayError } from './errors.js';
import { parsePinnedHostKeys } from './host-key.js';
import type { SshConnection } from './listener-deps.js';
import type { SshUpstreamCredentials } from './upstream.js';

/**
 * The SSH connections of a gateway configuration, keyed by name. Pinned host keys are parsed and the credentials
 * resolved once here, so a missing secret or a bad key fails at start rather than at the first login; the
 * credentials are then read again for each login (a rotated key file takes effect without a restart).
 */
export function sshConnectionsFromConfig(
  connections: readonly ConnectionConfig[],
): Map<string, SshConnection> {
  const out = new Map<string, SshConnection>();
  for (const c of connections) {
    if (c.protocol !== 'ssh') continue;
    const u = c.upstream;
    const credentials = (): SshUpstreamCredentials => credentialsOf(c);
    credentials();
    out.set(c.name, {
      name: c.name,
      tags: c.tags,
      target: {
        connection: c.name,
        host: u.host,
        port: u.port,
        user: u.user,
        credentials,
        hostKeys: u.hostKeyVerification === 'off' ? null : parsePinnedHostKeys(hostKeyText(c)),
        connectTimeoutMs: u.connectTimeoutMs,
      },
    });
  }
  return out;
}

function credentialsOf(c: SshConnectionConfig): SshUpstreamCredentials {
  const u = c.upstream;
  if (u.privateKey) {
    return {
      privateKey: resolveSecret(u.privateKey),
      ...(u.passphrase ? { passphrase: resolveSecret(u.passphrase) } : {}),
    };
  }
  if (u.password) return { password: resolveSecret(u.password) };
  throw new SshGatewayError(SshErrorCode.upstream, `connection "${c.name}" has no upstream credentials`);
}

function hostKeyText(c: SshConnectionConfig): string {
  const key = c.upstream.hostKey;
  if (key === undefined) {
    throw new SshGatewayError(SshErrorCode.pinnedKeyInvalid, `connection "${c.name}" has no pinned host key`);
  }
  if (typeof key === 'string') return key;
  try {
    return readFileSync(key.file, 'utf8');
  } catch (cause) {
    throw new SshGatewayError(
      SshErrorCode.pinnedKeyInvalid,
      `cannot read the pinned host key of "${c.name}"`,
      {
        cause,
      },
    );
  }
}
