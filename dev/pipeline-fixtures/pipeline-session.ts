import { Writable } from 'node:stream';
import { SessionEvents } from '../../services/shared/events/session-events.js';
import { createLogger } from '../../services/shared/logger.js';
import type { PipelineSession } from '../../services/gateway/pipeline/index.js';
import type {
  Decision,
  PolicyEngine,
  PolicyInput,
  PolicyResult,
} from '../../services/gateway/policy/index.js';
import type { ConnectionProtocol } from '../../services/gateway/policy/index.js';
import { SessionAudit } from '../../services/gateway/session-audit.js';
import type { MemoryApprovals } from './memory-approvals.js';
import { MemoryPublisher } from '../memory-publisher.js';

export const NO_APPROVAL = {
  required: false,
  groups: [],
  approvals_needed: 0,
  ttl_seconds: 0,
  reuse_seconds: 0,
} as const;

export const ONCALL_APPROVAL = {
  required: true,
  groups: ['oncall'],
  approvals_needed: 1,
  ttl_seconds: 900,
  reuse_seconds: 0,
} as const;

/** A decision: the default deny, with `over` applied. */
export function decision(over: Partial<Decision>): Decision {
  return {
    allow: false,
    reasons: ['no rule allows this request'],
    approval: NO_APPROVAL,
    mask: { columns: [], fields: [], detectors: [] },
    audit: 'sync',
    ...over,
  };
}

export type TestSession = {
  readonly session: PipelineSession;
  readonly publisher: MemoryPublisher;
  /** Every policy input, in order. */
  readonly inputs: PolicyInput[];
  /** Every result handed to `onDecision` (metrics), in order. */
  readonly results: PolicyResult[];
  /** Every log line (JSON). */
  readonly logs: string[];
};

/**
 * A session's side of the request pipeline over an in-memory publisher, with a policy that always answers
 * `answer` (a decision, or a whole result such as a fail-closed one) at revision `rev1`.
 */
export function testSession(
  answer: Decision | PolicyResult,
  opts: { approvals?: MemoryApprovals; protocol?: ConnectionProtocol } = {},
): TestSession {
  const publisher = new MemoryPublisher();
  const inputs: PolicyInput[] = [];
  const results: PolicyResult[] = [];
  const logs: string[] = [];
  const result: PolicyResult =
    'failedClosed' in answer
      ? answer
      : { failedClosed: false, decision: answer, revision: 'rev1', evalMicros: 12 };
  const policy: PolicyEngine = {
    revision: 'rev1',
    entrypoint: 'gatehouse/main/decision',
    evaluate: (input) => {
      inputs.push(input);
      return result;
    },
  };
  const identity = {
    sub: 'agent-7',
    email: '',
    groups: ['agents'],
    agent: true,
    issuer: 'https://idp',
    client_id: 'c',
  };
  const connection = { name: 'demo', tags: { env: 'demo' } };
  const audit = new SessionAudit(
    new SessionEvents({ nodeId: 'n1', protocol: opts.protocol ?? 'ssh', connection, identity }),
    publisher,
    'sessions',
    512 * 1024,
  );
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const session: PipelineSession = {
    policy: () => policy,
    audit,
    identity,
    connection,
    clientAddr: '127.0.0.1',
    startedAt: 1,
    log: createLogger({ service: 'test', level: 'warn', destination }),
    onDecision: (r) => results.push(r),
    approvals: opts.approvals,
  };
  return { session, publisher, inputs, results, logs };
}
