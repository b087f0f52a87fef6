import type { Identity as ProtoIdentity } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity } from '../../shared/identity/identity.js';

const NOBODY: Identity = Object.freeze({
  sub: '',
  email: '',
  groups: Object.freeze([]),
  agent: false,
  issuer: '',
  client_id: '',
});

export function fromProtoIdentity(p: ProtoIdentity | undefined): Identity {
  if (!p) return NOBODY;
  return Object.freeze({
    sub: p.sub,
    email: p.email,
    groups: Object.freeze([...p.groups]),
    agent: p.agent,
    issuer: p.issuer,
    client_id: p.clientId,
  });
}

/** How a person is named in messages: email, else subject. */
export function displayName(i: Identity | undefined): string {
  if (!i) return 'nobody';
  return i.email || i.sub || 'unknown';
}
