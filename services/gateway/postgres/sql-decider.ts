import { sqlFingerprint } from '../policy/index.js';
import type { Decision, SqlRequest } from '../policy/index.js';
import { createRequestPipeline } from '../pipeline/index.js';
import type { HeldRequest, PipelineSession, Ruling, Verdict } from '../pipeline/index.js';
import type { SqlAnalysis } from '../sql/index.js';
import type { LineageCache } from '../sql/lineage/index.js';
import type { SqlLineage } from '../sql/lineage/index.js';
import { decisionMask, reattach, withColumns } from './lineage-masks.js';
import { pinnedViolations } from './pinned-settings.js';
import type { SqlDecider, SqlVerdict } from './verdict.js';

export type SqlDeciderDeps = PipelineSession & {
  /** Analysis plus column lineage per SQL text (cached; the connection's catalog). */
  lineage: LineageCache;
};

/** What the client is told when the audit log cannot record a statement (SQLSTATE 57P03). */
const AUDIT_UNAVAILABLE = 'audit log unavailable: statement not forwarded';

/**
 * The PostgreSQL side of the request pipeline (services/gateway/pipeline). Input: the real PostgreSQL parser's
 * analysis of one SQL text (names resolved to the statements they stand for, column lineage), read-only only when
 * the analysis proves it, the text plus the statements behind names for reviewers, and the pinned settings the
 * gateway refuses to change whatever the policy says. Wire: `allow`/`approved` forward with the lineage mask,
 * `deny` is 42501, `abandoned` and `error` 57P03. Approval-required requests come back with `hold`, which the
 * session calls once earlier responses reached the client.
 */
export function createSqlDecider(d: SqlDeciderDeps): SqlDecider {
  const pipeline = createRequestPipeline(d);
  return (text, requestId, kind, options) => {
    const first = d.lineage.analyze(text);
    const analyzed = options?.analysis ?? first.analysis;
    // Statements standing for a named one carry that one's column references (policy input `columns`).
    const resolved = withColumns(options?.resolve ? options.resolve(analyzed) : analyzed, d.lineage);
    // A relation the catalog does not know (created since it was loaded) would be masked whole: reload it first.
    if (first.unknownRelations) {
      return d.lineage.refresh().then((changed) => {
        if (!changed) return decideOn(first, resolved);
        const fresh = d.lineage.analyze(text);
        return decideOn(fresh, reattach(resolved, first, fresh, d.lineage));
      });
    }
    return decideOn(first, resolved);

    function decideOn(lineage: SqlLineage, analysis: SqlAnalysis): SqlVerdict | Promise<SqlVerdict> {
      // Approvals bind to what runs: for EXECUTE p / FETCH c, also the statement behind the name.
      const bound = boundText(text, analysis);
      const request: SqlRequest = { kind: 'sql', fingerprint: sqlFingerprint(bound), sql: analysis };
      const readOnly = analysis.parse_error === null && analysis.statements.every((s) => s.read_only);
      const ruling = pipeline.rule({
        protocol: 'postgres',
        requestId,
        kind,
        text,
        request,
        durability: readOnly ? 'batched' : 'durable',
        reviewText: bound,
        // Settings the gateway parses by are never changeable, whatever the policy says.
        protocolDenials: pinnedViolations(analysis.statements),
      });
      // Column masking follows lineage: decided here once per request, applied per result set, never per row.
      const maskOf = (decision: Decision): SqlVerdict['mask'] =>
        decisionMask(decision.mask, lineage, analysis, options?.analysis !== undefined, d.lineage);
      const toSql = (r: Ruling): SqlVerdict => {
        if (r.kind !== 'held') return sqlVerdict(r, maskOf);
        return {
          allow: false,
          reasons: r.reasons,
          sqlstate: '42501',
          mask: null,
          batched: false,
          revision: r.revision,
          hold: (notify, signal) =>
            r.wait({ onHeld: (h) => notify(heldNotice(h)), signal }).then((v) => sqlVerdict(v, maskOf)),
        };
      };
      return ruling instanceof Promise ? ruling.then(toSql) : toSql(ruling);
    }
  };
}

/** The pipeline's verdict on the PostgreSQL wire. */
function sqlVerdict(v: Verdict, maskOf: (decision: Decision) => SqlVerdict['mask']): SqlVerdict {
  const refuse = (sqlstate: string, reasons: readonly string[]): SqlVerdict => ({
    allow: false,
    reasons,
    sqlstate,
    mask: null,
    batched: false,
    revision: v.revision,
  });
  switch (v.kind) {
    case 'allow':
    case 'approved':
      return {
        allow: true,
        reasons: v.reasons,
        sqlstate: '',
        mask: maskOf(v.decision),
        batched: v.kind === 'allow' && v.batched,
        revision: v.revision,
      };
    case 'deny':
      return refuse('42501', v.reasons);
    case 'abandoned':
      return refuse('57P03', v.reasons);
    case 'error':
      return refuse('57P03', [AUDIT_UNAVAILABLE]);
    default: {
      const unexpected: never = v;
      throw new Error(`unexpected verdict ${JSON.stringify(unexpected)}`);
    }
  }
}

/** The NoticeResponse a held statement's client sees while it waits. */
function heldNotice(h: HeldRequest): string {
  return (
    `gatehouse: approval required (${h.reasons.join('; ')}); waiting for ${h.approvalsNeeded} ` +
    `approval(s) from ${h.groups.join(', ')}: approval ${h.approvalId} at ${h.approveUrl} ` +
    `(expires ${h.expiresAt.toISOString()})`
  );
}

/** `text`, plus the statement each resolved name stands for (what a reviewer must see and a grant binds to). */
export function boundText(text: string, analysis: SqlAnalysis): string {
  const lines = [text];
  for (const s of analysis.statements) {
    const ref = s.name_ref;
    if (ref?.known === true && ref.statement !== null)
      lines.push(`-- gatehouse: ${ref.kind} "${ref.name ?? ''}" is: ${ref.statement.text}`);
  }
  return lines.join('\n');
}
