import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKeyFingerprint, isPinned, parsePinnedHostKeys } from './host-key.js';

function keygen(): { pub: string; fingerprint: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-hostkey-')), 'k');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test host', '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(
    ' ',
  )[1]!;
  return { pub: readFileSync(`${file}.pub`, 'utf8'), fingerprint };
}

describe('pinned host keys', () => {
  it('parses OpenSSH public key lines and matches only the pinned blobs', () => {
    const a = keygen();
    const b = keygen();
    const keys = parsePinnedHostKeys(`# rotation\n${a.pub}\n[gw]:2222 ${b.pub}\n`);
    expect(keys).toHaveLength(2);
    expect(keys[0]!.type).toBe('ssh-ed25519');
    expect(hostKeyFingerprint(keys[0]!.blob)).toBe(a.fingerprint);
    expect(isPinned(keys, keys[1]!.blob)).toBe(true);
    expect(isPinned(parsePinnedHostKeys(a.pub), keys[1]!.blob)).toBe(false);
  });

  it('rejects text that holds no key, or a key whose blob is of another type', () => {
    expect(() => parsePinnedHostKeys('\n# nothing\n')).toThrow(/no pinned host key/);
    expect(() => parsePinnedHostKeys('not-a-key')).toThrow(/not an OpenSSH public key/);
    expect(() => parsePinnedHostKeys('not a key')).toThrow(/does not hold/);
    const a = keygen();
    expect(() => parsePinnedHostKeys(a.pub.replace('ssh-ed25519', 'ssh-rsa'))).toThrow(/does not hold/);
  });
});
