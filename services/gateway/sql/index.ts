export { analyzeSql, analyzeSqlSync } from './analyze-sql.js';
export { SqlAnalysisCache } from './analysis-cache.js';
export type { SqlAnalysisCacheOptions } from './analysis-cache.js';
export {
  fingerprintSql,
  isSqlParserLoaded,
  isTransientParseError,
  loadSqlParser,
  normalizeSql,
} from './pg-parser.js';
export { estimateNestingDepth, MAX_NESTING_ESTIMATE } from './nesting-guard.js';
export { SqlParserNotLoadedError } from './errors.js';
export type {
  NameRef,
  SettingChange,
  SettingScope,
  SqlAnalysis,
  SqlStatementAnalysis,
} from './sql-analysis.js';
