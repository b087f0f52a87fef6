import type { SqlAnalysisCache } from '../analysis-cache.js';
import { parseRaw } from '../pg-parser.js';
import type { SqlAnalysis, SqlStatementAnalysis } from '../sql-analysis.js';
import type { ColumnReference, LineageCatalog, StatementLineage } from './lineage-types.js';
import { OPAQUE } from './lineage-types.js';
import type { QueryLineage } from './query-lineage.js';
import { statementLineage } from './statement-lineage.js';

/** A statement as policy sees it: the analysis plus every column it references (`columns`). */
export type SqlStatementWithColumns = SqlStatementAnalysis & { readonly columns: readonly ColumnReference[] };

export interface SqlLineage {
  /** The analysis handed to policy, each statement with its column references. */
  readonly analysis: SqlAnalysis & { readonly statements: readonly SqlStatementWithColumns[] };
  /** Lineage per statement, in the same order as `analysis.statements`. */
  readonly statements: readonly StatementLineage[];
  /** A relation was named that the catalog does not know (it is opaque here; a catalog refresh may help). */
  readonly unknownRelations: boolean;
}

/** A catalog that knows nothing: every relation is unknown, so every column is opaque (masked). */
export const EMPTY_CATALOG: LineageCatalog = {
  version: 0,
  relations: () => [],
  isBuiltinFunction: () => false,
};

/**
 * Lineage per SQL text, computed once per text and catalog version (a bounded LRU like SqlAnalysisCache): the parse
 * tree is walked again only on a miss, never per row or per execution. Entries made with an older catalog are
 * recomputed on their next use.
 */
export class LineageCache {
  readonly #entries = new Map<string, { version: number; lineage: SqlLineage }>();
  readonly #analyses: SqlAnalysisCache;
  readonly #catalog: () => LineageCatalog;
  readonly #maxEntries: number;
  readonly #maxTextLength: number;
  #views = new Map<string, QueryLineage | 'pending'>();
  #viewsVersion = -1;

  constructor(
    analyses: SqlAnalysisCache,
    catalog: () => LineageCatalog,
    options: { maxEntries?: number; maxTextLength?: number } = {},
  ) {
    this.#analyses = analyses;
    this.#catalog = catalog;
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxTextLength = options.maxTextLength ?? 8192;
  }

  analyze(text: string): SqlLineage {
    const catalog = this.#catalog();
    const hit = this.#entries.get(text);
    if (hit !== undefined && hit.version === catalog.version) {
      this.#entries.delete(text);
      this.#entries.set(text, hit);
      return hit.lineage;
    }
    const lineage = this.#compute(text, catalog);
    if (text.length <= this.#maxTextLength) {
      this.#entries.delete(text);
      if (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (oldest.done !== true) this.#entries.delete(oldest.value);
      }
      this.#entries.set(text, { version: catalog.version, lineage });
    }
    return lineage;
  }

  /**
   * Reloads the catalog (when it can be, at most `timeoutMs` waited); true when its picture changed, so analyses
   * made before are recomputed on their next use.
   */
  async refresh(timeoutMs = 2_000): Promise<boolean> {
    const catalog = this.#catalog();
    if (catalog.refresh === undefined) return false;
    const before = catalog.version;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      catalog.refresh(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return this.#catalog().version !== before;
  }

  #compute(text: string, outer: LineageCatalog): SqlLineage {
    let unknownRelations = false;
    const catalog: LineageCatalog = {
      version: outer.version,
      isBuiltinFunction: (name) => outer.isBuiltinFunction(name),
      relations: (schema, name) => {
        const found = outer.relations(schema, name);
        if (found.length === 0) unknownRelations = true;
        return found;
      },
    };
    const analysis = this.#analyses.analyze(text);
    if (this.#viewsVersion !== catalog.version) {
      this.#views = new Map();
      this.#viewsVersion = catalog.version;
    }
    let statements: StatementLineage[] = [];
    if (analysis.parse_error === null && analysis.statements.length > 0) {
      const parsed = parseRaw(text);
      statements =
        parsed.ok && parsed.stmts.length === analysis.statements.length
          ? parsed.stmts.map((s) => statementLineage(s.stmt, catalog, this.#views))
          : analysis.statements.map(() => opaqueStatement());
    }
    const withColumns = analysis.statements.map((s, i) => ({ ...s, columns: statements[i]?.refs ?? [] }));
    return Object.freeze({
      analysis: Object.freeze({ ...analysis, statements: withColumns }),
      statements,
      unknownRelations,
    });
  }
}

function opaqueStatement(): StatementLineage {
  return {
    outputs: null,
    outputUnion: OPAQUE,
    all: OPAQUE,
    named: null,
    inner: null,
    refs: [{ table: '', column: '*', position: 'other' }],
  };
}
