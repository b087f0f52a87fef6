import { createHash } from 'node:crypto';
import type { SshRequestDetail } from './types.js';

/**
 * `input.request.fingerprint`: what an approval grant is bound to. sha256 hex of `<kind>\n<canonical request>`.
 * The canonical form is deliberately exact (only the SQL text's ends are trimmed): two requests share a
 * fingerprint only when they do the same thing, so a grant is never reused for a different request.
 */
export function fingerprint(kind: string, canonical: string): string {
  return createHash('sha256').update(kind).update('\n').update(canonical).digest('hex');
}

export function sqlFingerprint(text: string): string {
  return fingerprint('sql', text.trim());
}

export function sshFingerprint(detail: SshRequestDetail): string {
  switch (detail.type) {
    case 'exec':
      return fingerprint('ssh', `exec\n${detail.command}`);
    case 'subsystem':
      return fingerprint('ssh', `subsystem\n${detail.subsystem}`);
    case 'port_forward':
      return fingerprint('ssh', `port_forward\n${detail.direction}\n${detail.host}\n${String(detail.port)}`);
    case 'shell':
    case 'x11':
    case 'agent_forward':
      return fingerprint('ssh', detail.type);
    default: {
      const unexpected: never = detail;
      throw new Error(`unexpected ssh request ${JSON.stringify(unexpected)}`);
    }
  }
}
