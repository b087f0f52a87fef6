import type { Identity } from '../../shared/identity/index.js';
import type { Logger } from '../../shared/logger.js';
import { requestEvent } from '../pipeline/decision-events.js';
import { createRequestPipeline } from '../pipeline/index.js';
import type { ApprovalService, PipelineSession, Verdict } from '../pipeline/index.js';
import type { Decision, McpRequest, PolicyEngine, PolicyResult } from '../policy/index.js';
import type { SessionAudit } from '../session-audit.js';

/**
 * The MCP gateway's one call into the decision machinery: the protocol-neutral request pipeline
 * (services/gateway/pipeline: policy → request/decision events → approval hold → verdict). Nothing else in
 * services/gateway/mcp evaluates policy or publishes request/decision events; this file maps the pipeline's
 * verdict onto what the JSON-RPC wire needs.
 */

export type McpVerdict = {
  readonly allow: boolean;
  /** Shown to the client on refusal (JSON-RPC error message) and recorded. */
  readonly reasons: readonly string[];
  /** The policy's decision when allowed (masking: `mask.fields`, `mask.detectors`). */
  readonly decision: Decision | undefined;
  readonly revision: string;
  /** true when the refusal is the gateway's failure (audit log or approval service unavailable), not policy. */
  readonly unavailable: boolean;
};

export type McpDecideRequest = {
  readonly audit: SessionAudit;
  readonly requestId: number;
  /** `Request.kind`: `mcp.<method>` (or `mcp.response`). */
  readonly kind: string;
  /** `Request.text`: the JSON-RPC message as forwarded. */
  readonly text: string;
  /** What a reviewer is shown and an approval's digest covers: `server: tools/call tool {args}`. */
  readonly display: string;
  readonly request: McpRequest;
  /** The protocol proved the message read-only (listings, handshakes): its events may be batched. */
  readonly readOnly: boolean;
  readonly identity: Identity;
  readonly connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> };
  readonly clientAddr: string;
  readonly startedAt: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Called once a held request's approval request is published: tell the client why it waits and where. */
  readonly onHeld: (held: { approvalId: string; approveUrl: string; reasons: readonly string[] }) => void;
};

export type McpDeciderDeps = {
  policy: () => PolicyEngine;
  approvals: ApprovalService | undefined;
  onDecision: (result: PolicyResult) => void;
  /** For evaluations outside a session's own log (tools/list filtering). */
  log: Logger;
};

export type McpDecider = {
  /** Decides one client message and records its `request` and `decision` (and approval) events. */
  decide(req: McpDecideRequest): Promise<McpVerdict>;
  /** Records the `request` event of a message the gateway answers itself (unknown method): never decided. */
  recordUndecided(req: Pick<McpDecideRequest, 'audit' | 'requestId' | 'kind' | 'text' | 'request'>): void;
  /** Evaluates without recording (tools/list filtering: may this listed tool be shown?). */
  evaluate(
    req: Pick<McpDecideRequest, 'audit' | 'request' | 'identity' | 'connection' | 'clientAddr' | 'startedAt'>,
  ): PolicyResult;
};

function onWire(v: Verdict): McpVerdict {
  switch (v.kind) {
    case 'allow':
    case 'approved':
      return {
        allow: true,
        reasons: v.reasons,
        decision: v.decision,
        revision: v.revision,
        unavailable: false,
      };
    case 'deny':
      return {
        allow: false,
        reasons: v.reasons,
        decision: undefined,
        revision: v.revision,
        unavailable: false,
      };
    case 'abandoned':
    case 'error':
      return {
        allow: false,
        reasons: v.reasons,
        decision: undefined,
        revision: v.revision,
        unavailable: true,
      };
    default: {
      const unexpected: never = v;
      throw new Error(`unexpected verdict ${JSON.stringify(unexpected)}`);
    }
  }
}

export function createMcpDecider(d: McpDeciderDeps): McpDecider {
  const pipelineOf = (
    req: Pick<McpDecideRequest, 'audit' | 'identity' | 'connection' | 'clientAddr' | 'startedAt'> & {
      log?: Logger;
    },
  ) => {
    const session: PipelineSession = {
      policy: d.policy,
      audit: req.audit,
      identity: req.identity,
      connection: req.connection,
      clientAddr: req.clientAddr,
      startedAt: req.startedAt,
      log: req.log ?? d.log,
      onDecision: d.onDecision,
      approvals: d.approvals,
    };
    return createRequestPipeline(session);
  };
  return {
    evaluate: (req) => pipelineOf(req).evaluate({ protocol: 'mcp', request: req.request }),
    recordUndecided(req) {
      req.audit.batched(requestEvent(req.requestId, req.kind, req.text, req.request));
    },
    async decide(req) {
      const verdict = await pipelineOf(req).decide(
        {
          protocol: 'mcp',
          requestId: req.requestId,
          kind: req.kind,
          text: req.text,
          request: req.request,
          durability: req.readOnly ? 'batched' : 'durable',
          reviewText: req.display,
          decisionFields: {
            argumentsDigest: req.request.mcp.arguments_digest,
            toolChanged: req.request.mcp.tool_changed,
          },
        },
        {
          signal: req.signal,
          onHeld: (h) => {
            req.log.info({ approval: h.approvalId, url: h.approveUrl }, 'mcp request held for approval');
            req.onHeld({ approvalId: h.approvalId, approveUrl: h.approveUrl, reasons: h.reasons });
          },
        },
      );
      return onWire(verdict);
    },
  };
}
