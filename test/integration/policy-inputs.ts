import { sqlFingerprint, sshFingerprint } from '../../services/gateway/policy/fingerprint.js';
import { policyTime } from '../../services/gateway/policy/policy-time.js';
import type {
  PolicyConnection,
  PolicyGrant,
  PolicyIdentity,
  PolicyInput,
  SqlStatement,
  SshRequestDetail,
} from '../../services/gateway/policy/types.js';

/** Policy inputs for the policy engine tests, shaped like the ones the gateway builds. */

export const agent: PolicyIdentity = {
  sub: 'agent-7',
  email: null,
  groups: ['engineering'],
  agent: true,
  issuer: 'http://127.0.0.1:9/idp',
  client_id: 'coding-agent',
};

export const human: PolicyIdentity = {
  sub: 'alice',
  email: 'alice@example.test',
  groups: ['engineering'],
  agent: false,
  issuer: 'http://127.0.0.1:9/idp',
  client_id: 'gatehouse-cli',
};

export const piiReader: PolicyIdentity = { ...human, sub: 'bob', groups: ['engineering', 'pii-readers'] };

export const DEMO_PG: PolicyConnection = { name: 'demo-pg', protocol: 'postgres', tags: { env: 'demo' } };
export const DEMO_SSH: PolicyConnection = { name: 'demo-ssh', protocol: 'ssh', tags: {} };

const SESSION = { id: 'sess-1', node: 'node-a', client_addr: '127.0.0.1', started_at: 1767225600 };
const NOW = policyTime(new Date('2026-01-01T00:05:00Z'));

export function stmt(
  type: string,
  text: string,
  readOnly: boolean,
  extra: Partial<SqlStatement> = {},
): SqlStatement {
  return {
    type,
    text,
    reads: [],
    writes: [],
    has_where: false,
    ddl: false,
    functions: [],
    read_only: readOnly,
    object_type: null,
    opaque: false,
    settings: [],
    name_ref: null,
    ...extra,
  };
}

export function sqlInput(identity: PolicyIdentity, statements: SqlStatement[]): PolicyInput {
  const text = statements.map((s) => s.text).join('; ');
  return {
    identity,
    connection: DEMO_PG,
    session: SESSION,
    request: { kind: 'sql', fingerprint: sqlFingerprint(text), sql: { text, statements, parse_error: null } },
    time: NOW,
    grants: [],
  };
}

export function sshInput(identity: PolicyIdentity, ssh: SshRequestDetail): PolicyInput {
  return {
    identity,
    connection: DEMO_SSH,
    session: SESSION,
    request: { kind: 'ssh', fingerprint: sshFingerprint(ssh), ssh },
    time: NOW,
    grants: [],
  };
}

export function sshExec(identity: PolicyIdentity, command: string): PolicyInput {
  return sshInput(identity, { type: 'exec', command, pty: false });
}

export function withGrants(input: PolicyInput, grants: PolicyGrant[]): PolicyInput {
  return { ...input, grants };
}
