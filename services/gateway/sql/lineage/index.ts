export { EMPTY_CATALOG, LineageCache } from './lineage-cache.js';
export type { SqlLineage, SqlStatementWithColumns } from './lineage-cache.js';
export { columnMatcher, MASK_ALL, maskPlan, unionMasks } from './mask-plan.js';
export type { NamedStatementResolver, StatementMask } from './mask-plan.js';
export type {
  CatalogRelation,
  ColumnReference,
  Lineage,
  LineageCatalog,
  NamedStatementRef,
  RefPosition,
  StatementLineage,
} from './lineage-types.js';
