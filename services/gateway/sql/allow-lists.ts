/*
 * Conservative allow-lists used to prove a statement read-only. A name missing here only makes `read_only` false
 * (policy then treats the statement like a write); adding a name claims that calling it never changes data,
 * session state or anything outside the database. Functions with side effects (nextval, setval, set_config,
 * pg_advisory_lock, pg_terminate_backend, lo_import, dblink, pg_read_file, txid_current, pg_sleep, …) must never
 * be added.
 */

/** Built-in functions without side effects (unqualified or `pg_catalog.`-qualified). */
// prettier-ignore
export const PURE_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates
  'count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'bool_and', 'bool_or', 'every', 'bit_and',
  'bit_or', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'stddev', 'stddev_pop',
  'stddev_samp', 'variance', 'var_pop', 'var_samp', 'corr', 'covar_pop', 'covar_samp', 'regr_slope',
  'regr_intercept', 'regr_count', 'regr_r2', 'percentile_cont', 'percentile_disc', 'mode', 'any_value',
  // window functions
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value',
  'last_value', 'nth_value',
  // conditional (mostly parsed as expressions, listed for explicit calls)
  'coalesce', 'nullif', 'greatest', 'least', 'num_nulls', 'num_nonnulls',
  // strings
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length',
  'substr', 'substring', 'trim', 'btrim', 'ltrim', 'rtrim', 'replace', 'concat', 'concat_ws', 'format', 'left',
  'right', 'lpad', 'rpad', 'position', 'strpos', 'split_part', 'repeat', 'reverse', 'starts_with', 'translate',
  'overlay', 'ascii', 'chr', 'md5', 'sha224', 'sha256', 'sha384', 'sha512', 'encode', 'decode', 'to_hex',
  'quote_ident', 'quote_literal', 'quote_nullable', 'regexp_replace', 'regexp_match', 'regexp_matches',
  'regexp_like', 'regexp_count', 'regexp_instr', 'regexp_substr', 'regexp_split_to_array',
  'regexp_split_to_table', 'string_to_array', 'string_to_table', 'array_to_string', 'normalize', 'is_normalized',
  'similar_to_escape', 'like_escape', 'unistr', 'convert_from', 'convert_to',
  // numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'mod', 'div', 'power', 'pow', 'sqrt', 'cbrt', 'exp', 'ln',
  'log', 'log10', 'sign', 'pi', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2',
  'gcd', 'lcm', 'width_bucket', 'scale', 'random', 'random_normal', 'to_char', 'to_number', 'to_date',
  'to_timestamp',
  // date and time
  'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday', 'date_trunc',
  'date_part', 'date_bin', 'extract', 'age', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz',
  'make_interval', 'justify_days', 'justify_hours', 'justify_interval', 'isfinite', 'timezone', 'overlaps',
  'date_add', 'date_subtract',
  // json
  'to_json', 'to_jsonb', 'row_to_json', 'array_to_json', 'json_build_object', 'jsonb_build_object',
  'json_build_array', 'jsonb_build_array', 'json_object', 'jsonb_object', 'json_array_length',
  'jsonb_array_length', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text', 'json_extract_path',
  'jsonb_extract_path', 'json_extract_path_text', 'jsonb_extract_path_text', 'json_object_keys',
  'jsonb_object_keys', 'json_array_elements', 'jsonb_array_elements', 'json_array_elements_text',
  'jsonb_array_elements_text', 'json_typeof', 'jsonb_typeof', 'json_strip_nulls', 'jsonb_strip_nulls',
  'jsonb_pretty', 'jsonb_set', 'jsonb_set_lax', 'jsonb_insert', 'jsonb_path_query', 'jsonb_path_query_array',
  'jsonb_path_query_first', 'jsonb_path_exists', 'jsonb_path_match', 'json_populate_record',
  'jsonb_populate_record', 'json_to_record', 'jsonb_to_record', 'json_to_recordset', 'jsonb_to_recordset',
  // arrays and sets
  'array_length', 'array_upper', 'array_lower', 'array_dims', 'array_ndims', 'cardinality', 'array_append',
  'array_prepend', 'array_cat', 'array_position', 'array_positions', 'array_remove', 'array_replace',
  'array_fill', 'unnest', 'generate_series', 'generate_subscripts', 'trim_array', 'array_shuffle',
  'array_sample',
  // uuid, misc
  'gen_random_uuid', 'uuidv4', 'version', 'current_database', 'current_schema', 'current_schemas',
  'current_setting', 'pg_backend_pid', 'inet_client_addr', 'inet_client_port', 'inet_server_addr',
  'inet_server_port', 'pg_postmaster_start_time', 'pg_conf_load_time', 'pg_is_in_recovery',
  'pg_current_wal_lsn', 'pg_typeof', 'format_type', 'to_regclass', 'to_regtype', 'to_regproc', 'to_regrole',
  'to_regnamespace', 'pg_table_is_visible', 'pg_type_is_visible', 'pg_function_is_visible',
  'has_table_privilege', 'has_column_privilege', 'has_schema_privilege', 'has_database_privilege',
  'has_function_privilege', 'has_sequence_privilege', 'pg_has_role', 'pg_get_userbyid', 'pg_get_viewdef',
  'pg_get_indexdef', 'pg_get_constraintdef', 'pg_get_functiondef', 'pg_get_function_arguments',
  'pg_get_function_result', 'pg_get_function_identity_arguments', 'pg_get_triggerdef', 'pg_get_ruledef',
  'pg_get_expr', 'pg_get_serial_sequence', 'pg_get_keywords', 'pg_relation_size', 'pg_table_size',
  'pg_indexes_size', 'pg_total_relation_size', 'pg_database_size', 'pg_column_size', 'pg_size_pretty',
  'pg_size_bytes', 'obj_description', 'col_description', 'shobj_description', 'pg_encoding_to_char',
  'pg_char_to_encoding', 'pg_relation_filenode', 'pg_tablespace_location', 'pg_get_partkeydef',
  'pg_get_statisticsobjdef', 'pg_partition_root', 'pg_partition_tree', 'pg_partition_ancestors',
  'pg_column_compression', 'pg_jit_available', 'array_to_tsvector', 'to_tsvector', 'to_tsquery',
  'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery', 'ts_rank', 'ts_rank_cd', 'ts_headline',
  'setweight', 'host', 'hostmask', 'netmask', 'network', 'masklen', 'family', 'inet_same_family', 'broadcast',
  'text', 'numeric', 'int4', 'int8', 'float8', 'bool', 'date', 'timestamp', 'timestamptz', 'interval',
]);

/**
 * Built-in functions whose effects are known (sequences, advisory locks, sleeping, large objects, server files,
 * other backends, settings): not read-only, but not opaque user code either. Every other function off
 * PURE_FUNCTIONS may run SQL the gateway cannot see (PL code, dynamic SQL, dblink) and marks a statement `opaque`.
 */
// prettier-ignore
export const KNOWN_EFFECT_FUNCTIONS: ReadonlySet<string> = new Set([
  'nextval', 'setval', 'currval', 'lastval', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'pg_advisory_lock',
  'pg_advisory_lock_shared', 'pg_advisory_unlock', 'pg_advisory_unlock_shared', 'pg_advisory_unlock_all',
  'pg_advisory_xact_lock', 'pg_advisory_xact_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared',
  'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared', 'txid_current', 'pg_current_xact_id',
  'set_config', 'pg_notify', 'lo_import', 'lo_export', 'lo_unlink', 'lo_create', 'lo_creat', 'lo_open', 'lo_put',
  'lo_get', 'lo_from_bytea', 'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file',
  'pg_cancel_backend', 'pg_terminate_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_stat_reset',
]);

/** Built-in operator names. A user-defined operator can call any function, so unknown symbols are not proven. */
// prettier-ignore
export const PURE_OPERATORS: ReadonlySet<string> = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '^', '|/', '||/', '@', '&', '|', '#', '~',
  '<<', '>>', '||', '~~', '!~~', '~~*', '!~~*', '!~', '~*', '!~*', '@>', '<@', '&&', '->', '->>', '#>', '#>>',
  '#-', '?', '?|', '?&', '@?', '@@', '@@@', '<->', '-|-', '&<', '&>', '<<|', '|>>', '&<|', '|&>', '~=', '<^',
  '>^', '?#', '?-', '?|', '?-|', '?||', '<<=', '>>=', '!!', 'BETWEEN', 'NOT BETWEEN', 'BETWEEN SYMMETRIC',
  'NOT BETWEEN SYMMETRIC',
]);

/** Built-in type names a literal may be cast to (last name component; `pg_catalog.` allowed). */
// prettier-ignore
export const PURE_CAST_TYPES: ReadonlySet<string> = new Set([
  'bool', 'boolean', 'int2', 'int4', 'int8', 'smallint', 'int', 'integer', 'bigint', 'float4', 'float8', 'real',
  'numeric', 'decimal', 'money', 'text', 'varchar', 'bpchar', 'char', 'character', 'name', 'citext', 'bytea',
  'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval', 'uuid', 'json', 'jsonb', 'jsonpath', 'xml',
  'oid', 'regclass', 'regtype', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regnamespace', 'regrole',
  'regconfig', 'regdictionary', 'regcollation', 'inet', 'cidr', 'macaddr', 'macaddr8', 'bit', 'varbit',
  'tsvector', 'tsquery', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'int4range', 'int8range',
  'numrange', 'daterange', 'tsrange', 'tstzrange', 'record', 'unknown', 'void', 'pg_lsn', 'xid', 'xid8', 'cid',
  'tid', 'int2vector', 'oidvector', 'anyelement',
]);

/** Whether `name` (lower-case, possibly schema-qualified) is in `list` unqualified or as `pg_catalog.<name>`. */
export function isAllowListed(list: ReadonlySet<string>, name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot === -1) return list.has(name);
  return name.slice(0, dot) === 'pg_catalog' && list.has(name.slice(dot + 1));
}
