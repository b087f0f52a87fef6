import { sshFingerprint } from '../policy/index.js';
import type { SshRequest, SshRequestDetail } from '../policy/index.js';
import { AUDIT_UNAVAILABLE, createRequestPipeline } from '../pipeline/index.js';
import type { PipelineSession, Verdict } from '../pipeline/index.js';

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

/** The session's side of the request pipeline (policy, audit, identity, connection, approvals). */
export type SshDeciderDeps = PipelineSession;

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
 * The SSH side of the request pipeline (services/gateway/pipeline): one policy evaluation per SSH request (exec,
 * shell, subsystem, forwarding). Input: the request detail and its fingerprint; nothing SSH runs is provably
 * read-only, so an allowed request's decision is durable before anything runs upstream. Wire: `allow`/`approved`
 * run with the decision's content detectors; `deny` and `abandoned` exit 126 with the reasons; `error` (audit log
 * unavailable) exits 255. A held request tells the client on stderr why it waits and where to approve.
 */
export function createSshDecider(d: SshDeciderDeps): SshDecider {
  const pipeline = createRequestPipeline(d);
  return async (detail, requestId, hooks) => {
    const request: SshRequest = { kind: 'ssh', fingerprint: sshFingerprint(detail), ssh: detail };
    const { kind, text } = describeRequest(detail);
    const verdict = await pipeline.decide(
      {
        protocol: 'ssh',
        requestId,
        kind,
        text,
        request,
        durability: 'durable',
        reviewText: text === '' ? kind : text,
      },
      {
        onHeld: (h) => {
          hooks.notify(`gatehouse: approval required: ${h.reasons.join('; ')}`);
          hooks.notify(`gatehouse: waiting for approval ${h.approvalId} at ${h.approveUrl}`);
        },
        signal: hooks.signal,
      },
    );
    return sshVerdict(verdict);
  };
}

/** The pipeline's verdict on the SSH wire. */
function sshVerdict(v: Verdict): SshVerdict {
  const refused = (reasons: readonly string[], exitStatus: number): SshVerdict => ({
    allow: false,
    reasons,
    detectors: [],
    revision: v.revision,
    exitStatus,
  });
  switch (v.kind) {
    case 'allow':
    case 'approved':
      return {
        allow: true,
        reasons: v.reasons,
        detectors: [...v.decision.mask.detectors],
        revision: v.revision,
        exitStatus: 0,
      };
    case 'deny':
    case 'abandoned':
      return refused(v.reasons, EXIT_DENIED);
    case 'error':
      return refused([AUDIT_UNAVAILABLE], EXIT_GATEWAY_ERROR);
    default: {
      const unexpected: never = v;
      throw new Error(`unexpected verdict ${JSON.stringify(unexpected)}`);
    }
  }
}
