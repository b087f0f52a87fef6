/*
 * PostgreSQL built-in type OIDs (pg_type.dat) as they matter for masking DataRow values.
 */

export const BYTEA_OID = 17;
export const JSON_OID = 114;
export const JSONB_OID = 3802;

/**
 * Types whose text and binary representations are both the UTF-8 text itself (text, varchar, bpchar, name,
 * "char", unknown, xml): a masked value may be any string, and matches can be replaced inside the value.
 */
export const TEXTUAL_OIDS: ReadonlySet<number> = new Set([25, 1043, 1042, 19, 18, 705, 142]);

/**
 * Arrays of textual and JSON types. In text format matches are replaced inside the literal (replacement tokens
 * need no quoting); in binary format they are not scanned (their element lengths would change).
 */
export const TEXTUAL_ARRAY_OIDS: ReadonlySet<number> = new Set([
  1009, 1015, 1014, 1003, 1002, 143, 199, 3807,
]);

/**
 * Types whose text form cannot hold an email, card number, national id or token: never scanned. (int8 and
 * numeric are scanned: they can hold card numbers.)
 */
export const UNSCANNED_OIDS: ReadonlySet<number> = new Set([
  16, // bool
  21, // int2
  23, // int4
  26, // oid
  28, // xid
  29, // cid
  27, // tid
  5069, // xid8
  700, // float4
  701, // float8
  790, // money
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1266, // timetz
  2950, // uuid
  869, // inet
  650, // cidr
  829, // macaddr
  774, // macaddr8
  1560, // bit
  1562, // varbit
  3220, // pg_lsn
  24, // regproc
  2202, // regprocedure
  2203, // regoper
  2204, // regoperator
  2205, // regclass
  2206, // regtype
  4089, // regnamespace
  4096, // regrole
  600, // point
  601, // lseg
  602, // path
  603, // box
  604, // polygon
  628, // line
  718, // circle
]);
