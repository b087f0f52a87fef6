import { create } from '@bufbuild/protobuf';
import { ShadowDecisionSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { EventBody } from '../../shared/events/session-events.js';
import { PolicyError } from '../../shared/errors.js';
import { policyTime } from './policy-time.js';
import type { ConnectionProtocol, PolicyGrant, PolicyInput, PolicyRequest, ShadowResult } from './types.js';

/**
 * The exact policy input of a recorded request, from three events of its session: `session.opened` (identity,
 * connection with tags, client address, node), the `request` (`parsed_json` is `input.request`) and its `decision`
 * (fields 20-22: `input.time.unix`, `input.session.started_at`, `input.grants`). Nothing else is needed, so the
 * events need not repeat the identity on every row.
 */

/** Decision event fields 20-22 for `input` (what session.opened and the request event do not hold). */
export function inputDecisionFields(input: PolicyInput): {
  inputUnix: bigint;
  inputStartedAt: bigint;
  inputGrantsJson: string;
} {
  return {
    inputUnix: BigInt(input.time.unix),
    inputStartedAt: BigInt(input.session.started_at),
    inputGrantsJson: input.grants.length > 0 ? JSON.stringify(input.grants) : '',
  };
}

/** The `shadow_decision` event of a request a shadow revision decided differently. */
export function shadowDecisionEvent(requestId: number, shadow: ShadowResult): EventBody {
  return {
    case: 'shadowDecision',
    value: create(ShadowDecisionSchema, {
      requestId,
      shadowRevision: shadow.revision,
      outcome: shadow.outcome,
      activeOutcome: shadow.activeOutcome,
      decisionJson: JSON.stringify(shadow.decision),
      policyError: shadow.failedClosed,
    }),
  };
}

const PROTOCOLS: ReadonlySet<string> = new Set(['postgres', 'ssh', 'http', 'k8s', 'grpc', 'mcp']);

function unreconstructible(message: string): never {
  throw new PolicyError('GH_ERR_POLICY_INPUT_INVALID', `input not reconstructible: ${message}`);
}

/**
 * Rebuilds `input` from the recorded events. `opened` may be absent when the request and decision events still
 * carry identity and connection (older streams); then the client address is unknown and an error is thrown.
 */
export function reconstructInput(e: { opened: Event | undefined; request: Event; decision: Event }): PolicyInput {
  const { request, decision, opened } = e;
  if (request.body.case !== 'request') unreconstructible('not a request event');
  if (decision.body.case !== 'decision') unreconstructible('not a decision event');
  if (opened && opened.body.case !== 'sessionOpened') unreconstructible('not a session.opened event');
  const d = decision.body.value;
  if (d.inputUnix === 0n) unreconstructible('the decision predates input recording (no input_unix)');
  const identity = opened?.identity ?? decision.identity ?? request.identity;
  const connection = opened?.connection ?? decision.connection ?? request.connection;
  if (!identity || identity.sub === '') unreconstructible('no identity recorded for the session');
  if (!connection) unreconstructible('no connection recorded for the session');
  if (!opened || opened.body.case !== 'sessionOpened') unreconstructible('no session.opened event');
  const protocol = connection.protocol;
  if (!PROTOCOLS.has(protocol)) unreconstructible(`unknown protocol ${JSON.stringify(protocol.slice(0, 20))}`);
  let parsedRequest: PolicyRequest;
  let grants: PolicyGrant[] = [];
  try {
    parsedRequest = JSON.parse(request.body.value.parsedJson) as PolicyRequest;
    if (d.inputGrantsJson !== '') grants = JSON.parse(d.inputGrantsJson) as PolicyGrant[];
  } catch {
    unreconstructible('the recorded request or grants are not JSON (a split record?)');
  }
  return {
    identity: {
      sub: identity.sub,
      email: identity.email === '' ? null : identity.email,
      groups: [...identity.groups],
      agent: identity.agent,
      issuer: identity.issuer,
      client_id: identity.clientId === '' ? null : identity.clientId,
    },
    connection: { name: connection.name, protocol: protocol as ConnectionProtocol, tags: { ...connection.tags } },
    session: {
      id: decision.sessionId,
      node: opened.nodeId,
      client_addr: opened.body.value.clientAddr,
      started_at: Number(d.inputStartedAt),
    },
    request: parsedRequest,
    time: policyTime(new Date(Number(d.inputUnix) * 1000)),
    grants,
  };
}
