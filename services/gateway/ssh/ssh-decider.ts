import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import { sshFingerprint } from '../policy/index.js';
import { decisionEvent, requestEvent } from '../policy/decision-events.js';
import { policyInput } from '../policy/policy-input.js';
import type {
  PolicyEngine,
  PolicyGrant,
  PolicyResult,
  SshRequest,
  SshRequestDetail,
} from '../policy/index.js';
import type { SessionAudit } from '../session-audit.js';
import type { SshApprovalHook } from './approval-hook.js';

/** Exit status of a command the gateway refused (policy, approval): "command cannot execute", as in POSIX shells. */
export const EXIT_DENIED = 126;
/** Exit status when the gateway itself failed (audit log unavailable, upstream lost): as `ssh` reports its errors. */
export const EXIT_GATEWAY_ERROR = 255;

/** The gateway's verdict on one SSH request. */
export type SshVerdict = {
  readonly allow: boolean;
  /** Shown to the client on refusal as `gatehouse: denied: <reasons joined by "; ">`. */
  readonly reasons: readonly string[];
  /** Content detectors to run over the channel's output (empty: output passes unchanged). */
  readonly detectors: readonly string[];
  readonly revision: string;
  /** Exit status sent to the client on refusal (EXIT_DENIED or EXIT_GATEWAY_ERROR). */
  readonly exitStatus: number;
};

export type SshDecideHooks = {
  /** Writes a line to the client's stderr (approval waits). */
  notify: (line: string) => void;
  signal: AbortSignal;
};

/** Decides one SSH request and publishes its `request` and `decision` events. */
export type SshDecider = (
  detail: SshRequestDetail,
  requestId: number,
  hooks: SshDecideHooks,
) => Promise<SshVerdict>;

export type SshDeciderDeps = {
  policy: () => PolicyEngine;
  audit: SessionAudit;
  identity: Identity;
  connection: { name: string; tags: Readonly<Record<string, string>> };
  clientAddr: string;
  startedAt: number;
  log: Logger;
  onDecision: (result: PolicyResult) => void;
  awaitApproval?: SshApprovalHook | undefined;
  /** `input.grants`: earlier approvals that may be reused (ApprovalWaiter.grantsFor). */
  grants?: ((sub: string, connection: string, fingerprint: string) => PolicyGrant[]) | undefined;
};

const AUDIT_UNAVAILABLE = 'audit log unavailable: request not forwarded';

/** `Request.kind` and `Request.text` of a request, as the audit log and the transcript show them. */
export function describeRequest(detail: SshRequestDetail): { kind: string; text: string } {
  switch (detail.type) {
    case 'exec':
      return { kind: 'ssh.exec', text: detail.command };
    case 'shell':
      return { kind: 'ssh.shell', text: '' };
    case 'subsystem':
      return { kind: 'ssh.subsystem', text: detail.subsystem };
    case 'port_forward':
      return { kind: 'ssh.port_forward', text: `${detail.direction} ${detail.host}:${detail.port}` };
    case 'x11':
      return { kind: 'ssh.x11', text: '' };
    case 'agent_forward':
      return { kind: 'ssh.agent_forward', text: '' };
    default: {
      const unexpected: never = detail;
      throw new Error(`unexpected ssh request ${JSON.stringify(unexpected)}`);
    }
  }
}

/**
 * One policy evaluation per SSH request (exec, shell, subsystem, forwarding). The `request` event is batched and
 * the `decision` event durable when the request is allowed, so nothing runs upstream before both are acknowledged
 * by Kafka; refusals are published batched (nothing runs). A refused publish refuses the request (fail closed).
 * Approval-required decisions go to `awaitApproval` when there is one, else they are refused with the reasons and
 * the approver groups.
 */
export function createSshDecider(d: SshDeciderDeps): SshDecider {
  return async (detail, requestId, hooks) => {
    const request: SshRequest = { kind: 'ssh', fingerprint: sshFingerprint(detail), ssh: detail };
    const input = policyInput(
      { ...d, protocol: 'ssh' },
      request,
      d.grants?.(d.identity.sub, d.connection.name, request.fingerprint) ?? [],
    );
    const result = d.policy().evaluate(input);
    d.onDecision(result);
    if (result.failedClosed)
      d.log.warn({ failure: result.failure, request: requestId }, 'policy failed closed');
    const { decision, revision } = result;
    const { kind, text } = describeRequest(detail);
    const needsApproval = !decision.allow && decision.approval.required;
    const waiter = needsApproval ? d.awaitApproval : undefined;
    const reasons =
      needsApproval && !waiter
        ? [
            ...decision.reasons,
            `approval required from ${decision.approval.groups.join(', ') || 'a reviewer'}`,
          ]
        : decision.reasons;
    const requestBody = requestEvent(requestId, kind, text, request);
    const decisionBody = decisionEvent(requestId, result, reasons);
    try {
      d.audit.assertAccepting();
      d.audit.batched(requestBody, revision);
      // Allowed (or possibly allowed after approval): the decision is durable before anything runs upstream.
      if (decision.allow || waiter) await d.audit.durable(decisionBody, revision);
      else d.audit.batched(decisionBody, revision);
    } catch (err) {
      d.log.warn(
        { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
        AUDIT_UNAVAILABLE,
      );
      return refused([AUDIT_UNAVAILABLE], revision, EXIT_GATEWAY_ERROR);
    }
    const detectors = [...decision.mask.detectors];
    if (decision.allow) return { allow: true, reasons, detectors, revision, exitStatus: 0 };
    if (!waiter) return refused(reasons, revision, EXIT_DENIED);
    hooks.notify(`gatehouse: approval required: ${decision.reasons.join('; ')}`);
    let outcome: Awaited<ReturnType<SshApprovalHook>>;
    try {
      outcome = await waiter({
        audit: d.audit,
        requestId,
        kind,
        text,
        request,
        decision,
        revision,
        identity: d.identity,
        connection: d.connection,
        signal: hooks.signal,
        onPending: ({ approvalId, url }) =>
          hooks.notify(`gatehouse: waiting for approval ${approvalId} at ${url}`),
      });
    } catch (err) {
      d.log.error(
        { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
        'approval wait failed',
      );
      return refused(['approval could not be obtained'], revision, EXIT_GATEWAY_ERROR);
    }
    if (!outcome.approved)
      return refused(outcome.reasons.length > 0 ? outcome.reasons : ['not approved'], revision, EXIT_DENIED);
    return { allow: true, reasons: outcome.reasons, detectors, revision, exitStatus: 0 };
  };
}

function refused(reasons: readonly string[], revision: string, exitStatus: number): SshVerdict {
  return { allow: false, reasons, detectors: [], revision, exitStatus };
}
