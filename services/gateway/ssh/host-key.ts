import { createHash } from 'node:crypto';
import { SshErrorCode, SshGatewayError } from './errors.js';

/** One pinned upstream host key: the raw public key blob as the server sends it during key exchange. */
export type PinnedHostKey = { readonly type: string; readonly blob: Buffer };

const KEY_LINE = /^([a-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/;

/**
 * Parses OpenSSH public key lines (`ssh-ed25519 AAAA… comment`, as in `*.pub` files; blank lines and `#` comments
 * skipped). A known_hosts-style host pattern in front of the key type is accepted and ignored. Several lines pin
 * several keys (e.g. during a key rotation). Pure.
 */
export function parsePinnedHostKeys(text: string): PinnedHostKey[] {
  const keys: PinnedHostKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = KEY_LINE.exec(line) ?? KEY_LINE.exec(line.replace(/^\S+\s+/, ''));
    if (!m) throw invalid('a pinned host key line is not an OpenSSH public key');
    const type = m[1]!;
    const blob = Buffer.from(m[2]!, 'base64');
    // The blob starts with the key type as an SSH string: a cheap consistency check.
    const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (len !== type.length || blob.subarray(4, 4 + len).toString('latin1') !== type) {
      throw invalid(`a pinned ${type} host key does not hold a ${type} key`);
    }
    keys.push({ type, blob });
  }
  if (keys.length === 0) throw invalid('no pinned host key found');
  return keys;
}

/** OpenSSH's fingerprint form: `SHA256:` + unpadded base64 of the blob's sha256. */
export function hostKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Whether the key the upstream presented is one of the pinned keys. */
export function isPinned(pinned: readonly PinnedHostKey[], presented: Buffer): boolean {
  return pinned.some((k) => k.blob.equals(presented));
}

function invalid(message: string): SshGatewayError {
  return new SshGatewayError(SshErrorCode.pinnedKeyInvalid, message);
}
