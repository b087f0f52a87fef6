import { RequestSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { EventBody } from '../../shared/events/session-events.js';
import { zeroMessage } from '../../shared/events/zero-message.js';
import type { SqlAnalysis } from '../sql/index.js';
import type { SessionAudit } from '../session-audit.js';
import { applyResultFormats, bindMessage, describeMessage } from '../../shared/pg-wire/index.js';
import type { NameEffect, NameRegistry, PortalEntry, StatementEntry } from './name-registry.js';
import { effectsOf, protocolUse } from './name-resolution.js';
import type { Denial, ResponsePipeline } from './response-pipeline.js';
import type { SqlRequestKind, SqlVerdict } from './verdict.js';

const ZERO_REQUEST = zeroMessage(RequestSchema);

/** What the extended protocol needs from its session. */
export type SessionPort = {
  readonly names: NameRegistry;
  readonly pipeline: ResponsePipeline;
  readonly audit: SessionAudit;
  readonly maxNames: number;
  nextRequestId(): number;
  /** Decides (and holds for approval); `analysis` replaces analysing `sql`. Returns the (resolved) analyses. */
  decide(
    sql: string,
    requestId: number,
    kind: SqlRequestKind,
    analysis?: SqlAnalysis,
  ): {
    verdict: SqlVerdict | Promise<SqlVerdict>;
    analysis: SqlAnalysis | null;
    unresolved: SqlAnalysis | null;
  };
  forward(bytes: Buffer): void;
  refusal(verdict: SqlVerdict, requestId: number): Denial;
  denial(sqlstate: string, message: string, detail: string): Denial;
  /** Drop client messages until Sync, as the server does after an error. */
  skip(): void;
};

/**
 * Parse, Bind and Execute of the extended protocol, with names: a Parse is decided when it arrives; a Bind of a
 * statement decided at Parse reuses that verdict, a Bind of anything else (SQL-prepared, ambiguous, unknown, or a
 * statement that itself runs a name) is decided as the statement behind the name; an Execute of a cursor or an
 * unknown portal likewise. Refusals make the server fail and skip to Sync, exactly as its own errors would.
 */
export class ExtendedProtocol {
  readonly #s: SessionPort;

  constructor(port: SessionPort) {
    this.#s = port;
  }

  parse(name: string, sql: string, raw: Buffer): Promise<void> | void {
    const requestId = this.#s.nextRequestId();
    const { verdict, analysis, unresolved } = this.#s.decide(sql, requestId, 'sql.parse');
    const apply = (v: SqlVerdict): void => {
      const statement = unresolved?.statements[0] ?? null;
      // A statement that runs another name (EXECUTE p, FETCH c) is decided again at each Bind: the name may change.
      const usesName =
        analysis?.statements.some((x) => x.name_ref !== null && x.name_ref.known !== null) ?? false;
      const entry: StatementEntry = {
        text: sql,
        analysis: statement,
        verdict: usesName ? null : v,
        origin: 'protocol',
        fields: null,
      };
      const effects: NameEffect[] = [{ t: 'statement+', name, entry }];
      const refused = v.allow ? this.overLimit(effects) : this.#s.refusal(v, requestId);
      if (refused === null) {
        this.#s.names.expect('parse', effects);
        this.#s.pipeline.expect({ kind: 'parse' });
        this.#s.forward(raw);
        return;
      }
      this.#failExtended(refused);
    };
    return verdict instanceof Promise ? verdict.then(apply) : apply(verdict);
  }

  /** A Bind: of a statement decided at Parse, as is; of anything else, decided now as the statement it names. */
  bind(portal: string, name: string, resultFormats: readonly (0 | 1)[], raw: Buffer): Promise<void> | void {
    const candidates = this.#s.names.statementCandidates(name);
    const only = candidates.length === 1 ? candidates[0]! : null;
    const finish = (statement: StatementEntry, v: SqlVerdict): void => {
      const entry: PortalEntry = {
        statement,
        cursor: false,
        hold: false,
        verdict: v,
        fields: null,
        resultFormats,
      };
      const effects: NameEffect[] = [{ t: 'portal+', name: portal, entry }];
      const refused = this.overLimit(effects);
      if (refused !== null) return this.#failExtended(refused);
      this.#s.names.expect('bind', effects);
      this.#s.pipeline.expect({ kind: 'bind', denial: null });
      this.#s.forward(raw);
    };
    if (only?.verdict) return finish(only, only.verdict);
    const requestId = this.#s.nextRequestId();
    const use = protocolUse(
      'execute',
      name,
      candidates.map((c) => c.analysis),
      this.#s.names,
    );
    const text = only?.text ?? use.statements[0]?.text ?? '';
    const { verdict } = this.#s.decide(text, requestId, 'sql.bind', use);
    const apply = (v: SqlVerdict): void => {
      if (!v.allow) return this.#failExtended(this.#s.refusal(v, requestId));
      finish(only ?? { text, analysis: null, verdict: v, origin: 'sql', fields: null }, v);
    };
    return verdict instanceof Promise ? verdict.then(apply) : apply(verdict);
  }

  /** Refuses the current extended-protocol message: the server fails and skips to Sync, as for its own errors. */
  #failExtended(denial: Denial): void {
    this.#s.pipeline.expect({ kind: 'bind', denial });
    this.#s.names.expect('bind');
    this.#s.forward(bindMessage('', denial.token));
    this.#s.skip();
  }

  overLimit(effects: readonly NameEffect[]): Denial | null {
    if (!this.#s.names.wouldExceed(effects)) return null;
    const max = this.#s.maxNames;
    return this.#s.denial(
      '54000',
      `gatehouse: too many prepared statements and cursors in this session (limit ${max}): DEALLOCATE or CLOSE some`,
      '',
    );
  }

  /** Synchronous for read-only statements (no await on the hot path); awaits Kafka's ack for anything else. */
  execute(portalName: string, raw: Buffer): Promise<void> | void {
    const candidates = this.#s.names.portalCandidates(portalName);
    const portal = candidates.length === 1 ? candidates[0]! : null;
    const requestId = this.#s.nextRequestId();
    if (!portal?.verdict) {
      // A cursor, an ambiguous or an unknown portal: decided now as the query behind it (unknown: opaque).
      const use = protocolUse(
        'fetch',
        portalName,
        candidates.map((c) => c.statement.analysis),
        this.#s.names,
      );
      const text = portal?.statement.text ?? use.statements[0]?.text ?? '';
      const { verdict } = this.#s.decide(text, requestId, 'sql.execute', use);
      const apply = (v: SqlVerdict): void => {
        if (!v.allow) return this.#failExtended(this.#s.refusal(v, requestId));
        const p = portal ?? {
          statement: { text, analysis: null, verdict: v, origin: 'sql' as const, fields: null },
          cursor: true,
          hold: false,
          verdict: v,
          fields: null,
          resultFormats: [],
        };
        this.#forwardExecute(p, v, portalName, requestId, raw);
      };
      return verdict instanceof Promise ? verdict.then(apply) : apply(verdict);
    }
    const verdict = portal.verdict;
    const { statement } = portal;
    const body: EventBody = {
      case: 'request',
      value: { ...ZERO_REQUEST, requestId, kind: 'sql.execute', text: statement.text },
    };
    if (verdict.batched) {
      this.#s.audit.batched(body, verdict.revision);
      this.#forwardExecute(portal, verdict, portalName, requestId, raw);
      return;
    }
    return this.#s.audit.durable(body, verdict.revision).then(
      () => this.#forwardExecute(portal, verdict, portalName, requestId, raw),
      () =>
        this.#failExtended(
          this.#s.denial('57P03', 'gatehouse: audit log unavailable: statement not forwarded', ''),
        ),
    );
  }

  #forwardExecute(
    portal: PortalEntry,
    verdict: SqlVerdict,
    portalName: string,
    requestId: number,
    raw: Buffer,
  ): void {
    const { statement } = portal;
    const mask = verdict.mask;
    if (mask && !portal.fields && !statement.fields && portal.describing !== true) {
      // The columns are needed to mask: ask for them first and keep the answer from the client (unless the client's
      // own Describe of this portal is on its way: its answer comes first and sets the portal's columns).
      this.#s.pipeline.expect({ kind: 'describe', injected: true, onFields: (f) => (portal.fields = f) });
      this.#s.forward(describeMessage('P', portalName));
    }
    this.#s.pipeline.expect({
      kind: 'execute',
      requestId,
      mask,
      fields: () =>
        portal.fields ??
        (statement.fields ? applyResultFormats(statement.fields, portal.resultFormats) : null),
    });
    // A statement sent through the extended protocol may itself be PREPARE, DECLARE, CLOSE, … or opaque code.
    this.#s.names.expect('execute', statement.analysis ? effectsOf(statement.analysis) : []);
    this.#s.forward(raw);
  }
}
