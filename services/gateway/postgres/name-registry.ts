import type { SqlStatementAnalysis } from '../sql/index.js';
import { BackendCode } from '../../shared/pg-wire/index.js';
import type { RowField } from '../../shared/pg-wire/index.js';
import type { SqlVerdict } from './verdict.js';

/*
 * Every name the server knows, the gateway knows: prepared statements (SQL PREPARE and protocol Parse share one
 * namespace on the server) and portals (DECLARE cursors and protocol Bind portals share one namespace), per session.
 *
 * API (pure, no I/O; the session feeds it what it forwards and what the server answers):
 *   statementFor(name) / portalFor(name)   the one entry a name stands for, or undefined when unknown or ambiguous
 *   statementCandidates(name) / portalCandidates(name)   every entry the name may stand for right now
 *   expect*(…)        the session forwarded a message; its effects on names apply only once the server confirms it
 *   onBackend(frame)  a server message: ParseComplete/BindComplete/CloseComplete/CommandComplete confirm effects,
 *                     ErrorResponse cancels what the server skips, ReadyForQuery ends transactions
 *
 * The model is conservative. An entry is recorded only after the server confirms it was created, so the gateway never
 * believes a name stands for a statement the server did not accept; entries may outlive the server's (a cursor the
 * server dropped), which only matters for a name the server would refuse anyway. Lookups see unconfirmed effects:
 * inside the open unit (the current simple Query, or the extended-protocol messages since the last Sync, where any
 * failure makes the server skip the rest) they replace; in earlier units they only add candidates. A name with
 * several candidates is decided on all of them; one with none is unknown (decided as opaque). If the server's
 * answers ever stop matching the model, the registry forgets everything and knows no name for the rest of the session.
 */

export type StatementEntry = {
  /** The text the name stands for: a Parse message's query, or the statement after PREPARE … AS. */
  readonly text: string;
  /** Its analysis; null when the text held no statement. */
  readonly analysis: SqlStatementAnalysis | null;
  /** Protocol Parse: the verdict decided at Parse time. SQL PREPARE: null (decided at each EXECUTE/Bind). */
  readonly verdict: SqlVerdict | null;
  readonly origin: 'sql' | 'protocol';
  fields: readonly RowField[] | null;
};

export type PortalEntry = {
  readonly statement: StatementEntry;
  /** Created by DECLARE (SQL); false for a protocol Bind portal. */
  readonly cursor: boolean;
  /** DECLARE … WITH HOLD: survives the end of its transaction. */
  readonly hold: boolean;
  /** Protocol Bind: the verdict decided at Bind time; null for cursors (decided at each FETCH/Execute). */
  readonly verdict: SqlVerdict | null;
  fields: readonly RowField[] | null;
  readonly resultFormats: readonly (0 | 1)[];
  /**
   * The client's own Describe of this portal is forwarded and not answered yet: its answer (which the server sends
   * before any Execute of the portal runs) will set `fields`, so an Execute need not inject a Describe of its own.
   */
  describing?: boolean;
};

export type NameEffect =
  | { readonly t: 'statement+'; readonly name: string; readonly entry: StatementEntry }
  | { readonly t: 'statement-'; readonly name: string | null }
  | { readonly t: 'portal+'; readonly name: string; readonly entry: PortalEntry }
  | { readonly t: 'portal-'; readonly name: string | null }
  | { readonly t: 'all-' };

type Item =
  | { kind: 'query'; effects: (readonly NameEffect[])[]; next: number; failed: boolean }
  | { kind: 'parse' | 'bind' | 'close' | 'execute'; effects: readonly NameEffect[] }
  | { kind: 'sync' };

const ABSENT = null;

export class NameRegistry {
  readonly #statements = new Map<string, StatementEntry>();
  readonly #portals = new Map<string, PortalEntry>();
  /** Hold cursors created in the current transaction: a rollback destroys them. */
  readonly #heldInTxn = new Set<string>();
  readonly #fifo: Item[] = [];
  readonly #maxNames: number;
  #skipUntilSync = false;
  #rolledBack = false;
  #lost = false;

  constructor(maxNames: number) {
    this.#maxNames = maxNames;
  }

  /** Names recorded (confirmed), statements plus portals. */
  get size(): number {
    return this.#statements.size + this.#portals.size;
  }

  /** True once the server's answers stopped matching the model: no name is known any more. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Whether adding the named creations in `effects` could exceed the configured maximum of names. */
  wouldExceed(effects: readonly NameEffect[]): boolean {
    let pending = 0;
    for (const item of this.#fifo) {
      const lists = item.kind === 'query' ? item.effects : item.kind === 'sync' ? [] : [item.effects];
      for (const l of lists) pending += countCreations(l);
    }
    return this.size + pending + countCreations(effects) > this.#maxNames;
  }

  statementFor(name: string): StatementEntry | undefined {
    const c = this.statementCandidates(name);
    return c.length === 1 ? c[0] : undefined;
  }

  portalFor(name: string): PortalEntry | undefined {
    const c = this.portalCandidates(name);
    return c.length === 1 ? c[0] : undefined;
  }

  statementCandidates(name: string): StatementEntry[] {
    return this.#candidates(name, 'statement');
  }

  portalCandidates(name: string): PortalEntry[] {
    return this.#candidates(name, 'portal');
  }

  expectQuery(effects: (readonly NameEffect[])[]): void {
    this.#fifo.push({ kind: 'query', effects, next: 0, failed: false });
  }

  expect(kind: 'parse' | 'bind' | 'close' | 'execute', effects: readonly NameEffect[] = []): void {
    if (this.#skipUntilSync) return; // the server skips it: it will never be answered
    this.#fifo.push({ kind, effects });
  }

  expectSync(): void {
    this.#skipUntilSync = false;
    this.#fifo.push({ kind: 'sync' });
  }

  /** One server message (type byte and payload). */
  onBackend(code: number, payload: Buffer): void {
    if (this.#lost) return;
    const head = this.#fifo[0];
    switch (code) {
      case BackendCode.ParseComplete:
        return this.#complete(head, 'parse');
      case BackendCode.BindComplete:
        return this.#complete(head, 'bind');
      case BackendCode.CloseComplete:
        return this.#complete(head, 'close');
      case BackendCode.CommandComplete: {
        if (payload.toString('latin1', 0, 8).startsWith('ROLLBACK')) this.#rolledBack = true;
        if (head?.kind === 'query') {
          const effects = head.failed ? undefined : head.effects[head.next++];
          if (effects) for (const e of effects) this.#apply(e);
          return;
        }
        return this.#complete(head, 'execute');
      }
      case BackendCode.EmptyQueryResponse:
        if (head?.kind === 'query') return;
        return this.#complete(head, 'execute', false);
      case BackendCode.PortalSuspended:
        return this.#complete(head, 'execute', false);
      case BackendCode.ErrorResponse:
        return this.#error(head);
      case BackendCode.ReadyForQuery:
        if (head?.kind !== 'query' && head?.kind !== 'sync') return this.#lose();
        this.#fifo.shift();
        this.#endOfCycle(String.fromCharCode(payload[0] ?? 0));
        return;
      default:
        return;
    }
  }

  #complete(head: Item | undefined, kind: Item['kind'], apply = true): void {
    if (head?.kind !== kind || head.kind === 'query' || head.kind === 'sync') return this.#lose();
    this.#fifo.shift();
    if (apply) for (const e of head.effects) this.#apply(e);
  }

  #error(head: Item | undefined): void {
    if (head === undefined) return; // e.g. a FATAL on its own: the session ends
    this.#rolledBack = true; // the transaction (block or implicit) the error happened in will not commit
    if (head.kind === 'query') {
      head.failed = true;
      return;
    }
    // Extended protocol: the server skips everything up to the next Sync.
    while (this.#fifo.length > 0 && this.#fifo[0]!.kind !== 'sync') this.#fifo.shift();
    if (this.#fifo.length === 0) this.#skipUntilSync = true;
  }

  /** ReadyForQuery with transaction status `status` ('I' idle, 'T' in a block, 'E' failed block). */
  #endOfCycle(status: string): void {
    if (status !== 'I') return;
    // Out of any transaction: portals without HOLD are gone; so are hold cursors of a rolled-back transaction.
    for (const [name, p] of this.#portals) {
      if (!p.hold || (this.#rolledBack && this.#heldInTxn.has(name))) this.#portals.delete(name);
    }
    this.#heldInTxn.clear();
    this.#rolledBack = false;
  }

  #apply(e: NameEffect): void {
    switch (e.t) {
      case 'statement+':
        this.#statements.set(e.name, e.entry);
        return;
      case 'statement-':
        if (e.name === null) this.#statements.clear();
        else this.#statements.delete(e.name);
        return;
      case 'portal+':
        this.#portals.set(e.name, e.entry);
        if (e.entry.hold) this.#heldInTxn.add(e.name);
        return;
      case 'portal-':
        if (e.name === null) this.#portals.clear();
        else this.#portals.delete(e.name);
        return;
      case 'all-':
        this.#statements.clear();
        this.#portals.clear();
        return;
    }
  }

  #lose(): void {
    this.#lost = true;
    this.#statements.clear();
    this.#portals.clear();
    this.#fifo.length = 0;
  }

  #candidates<K extends 'statement' | 'portal'>(
    name: string,
    kind: K,
  ): (K extends 'statement' ? StatementEntry : PortalEntry)[] {
    type E = K extends 'statement' ? StatementEntry : PortalEntry;
    if (this.#lost) return [];
    const confirmed = (kind === 'statement' ? this.#statements.get(name) : this.#portals.get(name)) as
      E | undefined;
    let set: (E | null)[] = [confirmed ?? ABSENT];
    // Units before the last Sync or Query were sent earlier: their effects may or may not happen.
    const fifo = this.#fifo;
    let open = fifo.length;
    while (open > 0 && fifo[open - 1]!.kind !== 'sync' && fifo[open - 1]!.kind !== 'query') open--;
    // Plain loops (no closure or slice per lookup: three lookups per pgbench transaction).
    for (let i = 0; i < fifo.length; i++) {
      const item = fifo[i]!;
      if (item.kind === 'sync') continue;
      const lists = item.kind === 'query' ? item.effects : [item.effects];
      for (let l = item.kind === 'query' ? item.next : 0; l < lists.length; l++) {
        for (const e of lists[l]!) {
          const value = effectOn(e, name, kind) as E | null | undefined;
          if (value === undefined) continue;
          if (i >= open) set = [value];
          else if (!set.includes(value)) set.push(value);
        }
      }
    }
    return set.filter((v): v is E => v !== null);
  }
}

/** The value `e` gives `name` in namespace `kind`: an entry, null (dropped), or undefined (no effect). */
function effectOn(
  e: NameEffect,
  name: string,
  kind: 'statement' | 'portal',
): StatementEntry | PortalEntry | null | undefined {
  if (e.t === 'all-') return null;
  if (kind === 'statement') {
    if (e.t === 'statement+' && e.name === name) return e.entry;
    if (e.t === 'statement-' && (e.name === null || e.name === name)) return null;
    return undefined;
  }
  if (e.t === 'portal+' && e.name === name) return e.entry;
  if (e.t === 'portal-' && (e.name === null || e.name === name)) return null;
  return undefined;
}

function countCreations(effects: readonly NameEffect[]): number {
  let n = 0;
  for (const e of effects) if ((e.t === 'statement+' || e.t === 'portal+') && e.name !== '') n++;
  return n;
}
