export { analyzeSql, analyzeSqlSync } from './analyze-sql.js';
export { SqlAnalysisCache } from './analysis-cache.js';
export type { SqlAnalysisCacheOptions } from './analysis-cache.js';
export { fingerprintSql, isSqlParserLoaded, loadSqlParser, normalizeSql } from './pg-parser.js';
export { SqlParserNotLoadedError } from './errors.js';
export type { SqlAnalysis, SqlStatementAnalysis } from './sql-analysis.js';
