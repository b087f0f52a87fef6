import { create } from '@bufbuild/protobuf';
import { IdentitySchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Identity as ProtoIdentity } from '../../../proto/gen/gatehouse/v1/events_pb.js';

/** The verified caller as the gateway, policy and approval service hold it (snake_case like `input.identity`). */
export type IdentityFields = {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly string[];
  readonly agent: boolean;
  readonly issuer: string;
  readonly client_id: string;
};

/** The identity as it is recorded in events. */
export function toProtoIdentity(i: IdentityFields): ProtoIdentity {
  return create(IdentitySchema, {
    sub: i.sub,
    email: i.email,
    groups: [...i.groups],
    agent: i.agent,
    issuer: i.issuer,
    clientId: i.client_id,
  });
}
