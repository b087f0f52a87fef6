import { create } from '@bufbuild/protobuf';
import { ShadowDecisionSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Event } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { EventBody } from '../../shared/events/session-events.js';
import { PolicyError } from '../../shared/errors.js';
import { policyTime } from './policy-time.js';
import type { ConnectionProtocol, PolicyGrant, PolicyInput, PolicyRequest, ShadowResult } from './types.js';

/**
 * The exact policy input of a recorded request, from three events of its session: `session.opened` (identity,
 * connection with tags, node), the `request` (`parsed_json` is `input.request`) and its `decision` (fields 20-22:
 * `input.time.unix`, `input.session`'s client address and start, `input.grants`). Nothing else is needed, so the
 * events need not repeat the identity on every row.
 */

/** Decision event fields 20-22 for `input` (what session.opened and the request event do not hold). */
export function inputDecisionFields(input: PolicyInput): {
  inputUnix: bigint;
  inputSessionJson: string;
  inputGrantsJson: string;
} {
  const { client_addr, started_at } = input.session;
  return {
    inputUnix: BigInt(input.time.unix),
    inputSessionJson: JSON.stringify({ client_addr, started_at }),
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

/** What the input is rebuilt from, gathered from the three events (protobuf objects or their JSON form). */
export type RecordedRequest = {
  readonly sessionId: string;
  readonly node: string;
  readonly identity: {
    sub: string;
    email: string;
    groups: readonly string[];
    agent: boolean;
    issuer: string;
    clientId: string;
  };
  readonly connection: { name: string; protocol: string; tags: Readonly<Record<string, string>> };
  /** `request.parsed_json`: `input.request` as the gateway serialised it. */
  readonly parsedJson: string;
  readonly inputUnix: number;
  /** Decision field 21: `{"client_addr", "started_at"}` as JSON. */
  readonly inputSessionJson: string;
  readonly inputGrantsJson: string;
};

function unreconstructible(message: string): never {
  throw new PolicyError('GH_ERR_POLICY_INPUT_INVALID', `input not reconstructible: ${message}`);
}

/** The recorded parts of a request from its protobuf events. */
export function recordedFromEvents(e: {
  opened: Event | undefined;
  request: Event;
  decision: Event;
}): RecordedRequest {
  const { request, decision, opened } = e;
  if (request.body.case !== 'request') unreconstructible('not a request event');
  if (decision.body.case !== 'decision') unreconstructible('not a decision event');
  if (!opened || opened.body.case !== 'sessionOpened') unreconstructible('no session.opened event');
  const identity = opened.identity ?? decision.identity ?? request.identity;
  const connection = opened.connection ?? decision.connection ?? request.connection;
  if (!identity) unreconstructible('no identity recorded for the session');
  if (!connection) unreconstructible('no connection recorded for the session');
  const d = decision.body.value;
  return {
    sessionId: decision.sessionId,
    node: opened.nodeId,
    identity,
    connection,
    parsedJson: request.body.value.parsedJson,
    inputUnix: Number(d.inputUnix),
    inputSessionJson: d.inputSessionJson,
    inputGrantsJson: d.inputGrantsJson,
  };
}

/** The exact `input` a recorded request was decided with. */
export function reconstructInput(r: RecordedRequest, request?: PolicyRequest): PolicyInput {
  if (r.inputUnix === 0) unreconstructible('the decision predates input recording (no input_unix)');
  if (r.identity.sub === '') unreconstructible('no identity recorded for the session');
  if (!PROTOCOLS.has(r.connection.protocol)) {
    unreconstructible(`unknown protocol ${JSON.stringify(r.connection.protocol.slice(0, 20))}`);
  }
  let parsedRequest: PolicyRequest;
  let grants: PolicyGrant[] = [];
  let session: { client_addr?: unknown; started_at?: unknown };
  try {
    parsedRequest = request ?? (JSON.parse(r.parsedJson) as PolicyRequest);
    if (r.inputGrantsJson !== '') grants = JSON.parse(r.inputGrantsJson) as PolicyGrant[];
    session = JSON.parse(r.inputSessionJson) as typeof session;
  } catch {
    unreconstructible('the recorded request, session or grants are not JSON (a split record?)');
  }
  if (typeof session.client_addr !== 'string' || typeof session.started_at !== 'number') {
    unreconstructible('the recorded input.session is malformed');
  }
  const i = r.identity;
  return {
    identity: {
      sub: i.sub,
      email: i.email,
      groups: [...i.groups],
      agent: i.agent,
      issuer: i.issuer,
      client_id: i.clientId,
    },
    connection: {
      name: r.connection.name,
      protocol: r.connection.protocol as ConnectionProtocol,
      tags: { ...r.connection.tags },
    },
    session: {
      id: r.sessionId,
      node: r.node,
      client_addr: session.client_addr,
      started_at: session.started_at,
    },
    request: parsedRequest,
    time: policyTime(new Date(r.inputUnix * 1000)),
    grants,
  };
}
