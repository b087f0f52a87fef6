import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sqlFingerprint, sshFingerprint } from './fingerprint.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('request fingerprints', () => {
  it('hash the kind and the exact request', () => {
    expect(sqlFingerprint('  CREATE TABLE t (id int)\n')).toBe(sha256('sql\nCREATE TABLE t (id int)'));
    expect(sshFingerprint({ type: 'exec', command: 'rm -rf /tmp/x', pty: false })).toBe(
      sha256('ssh\nexec\nrm -rf /tmp/x'),
    );
    expect(sshFingerprint({ type: 'shell', pty: true })).toBe(sha256('ssh\nshell'));
  });

  it('differ whenever the request differs', () => {
    expect(sqlFingerprint("UPDATE t SET a = 'x  y' WHERE id = 1")).not.toBe(
      sqlFingerprint("UPDATE t SET a = 'x y' WHERE id = 1"),
    );
    expect(sshFingerprint({ type: 'exec', command: 'reboot', pty: false })).not.toBe(
      sshFingerprint({ type: 'exec', command: 'reboot ', pty: false }),
    );
    expect(sshFingerprint({ type: 'port_forward', direction: 'local', host: 'db', port: 5432 })).not.toBe(
      sshFingerprint({ type: 'port_forward', direction: 'remote', host: 'db', port: 5432 }),
    );
    expect(sqlFingerprint('shell')).not.toBe(sshFingerprint({ type: 'shell', pty: false }));
  });
});
