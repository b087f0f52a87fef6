# Masked columns beyond the select list, and catalog views holding sampled values (input.request.kind == "sql").
#
# The gateway masks every output column derived from a masked column (lineage), but a masked column used
# elsewhere is an oracle: `WHERE ssn LIKE '1%'` or `ORDER BY email` tells bit by bit what the masked value is,
# without it ever being returned. Each statement lists the columns it references in `columns`:
#   {"table": "public.customers", "column": "email", "position": "where"}
# (table "" when the relation is unknown; column "*" for a whole-row reference; positions in policies/README.md).
#   - agents subject to masking may reference a masked column only as a plain select-list column;
#   - nobody subject to masking may copy masked values into a write (INSERT … SELECT, UPDATE SET, CREATE … AS);
#   - agents may not read the catalog views that hold sampled column values (config sql.sampled_value_relations).
package gatehouse.sql

import data.gatehouse.common

default_sampled_value_relations := [
	"pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic",
	"pg_statistic_ext", "pg_statistic_ext_data", "pg_stat_statements", "pg_stat_activity",
]

sampled_value_relations := {lower(r) | some r in sampled_value_relations_config}

sampled_value_relations_config := object.get(cfg, "sampled_value_relations", default_sampled_value_relations)

# Whether the configuration names its own list (whatever its value).
sampled_value_relations_configured if {
	configured := cfg.sampled_value_relations
	configured == configured
}

# base in sampled_value_relations, without building the set (a statement usually reads one or two relations).
# With the default list (all lower case, all starting "pg_stat"), most names are ruled out by their prefix.
sampled_relation(base) if {
	not sampled_value_relations_configured
	startswith(base, "pg_stat")
	some r in default_sampled_value_relations
	r == base
}

sampled_relation(base) if {
	sampled_value_relations_configured
	some r in cfg.sampled_value_relations
	lower(r) == base
}

# [masked column, its table parts] a column reference r may denote by name (table_matches, below, compares the
# tables: a reference may denote "column", "table.column" or "schema.table.column"; an unknown table, or a
# whole-row reference, matches on what can be compared). A reference is compared only with the masked columns of
# its own name (a cheap string test first), or with all of them for a whole-row reference "*".
masked_candidates(r) := {[c, table_parts(c)] |
	some c in mask_columns
	named(c, r.column)
} if {
	r.column != "*"
} else := {[c, table_parts(c)] | some c in mask_columns} if {
	r.column == "*"
}

# c is "<name>" or ends with ".<name>".
named(c, name) if {
	c == name
} else if {
	endswith(c, concat("", [".", name]))
}

table_parts(c) := array.slice(parts, 0, count(parts) - 1) if {
	parts := split(c, ".")
}

table_matches(_, want) if count(want) == 0

table_matches(table, _) if table == ""

table_matches(table, want) if {
	count(want) > 0
	have := split(table, ".")
	n := min([count(want), count(have)])
	array.slice(want, count(want) - n, count(want)) == array.slice(have, count(have) - n, count(have))
}

# [statement index, reference, masked column] for every masked column a statement references outside a plain
# select list (the only references the rules below judge: the first needs a position other than "select", the
# second "write").
masked_references contains [i, r, c] if {
	some i, s in statements
	some r in object.get(s, "columns", [])
	r.position != "select"
	some [c, want] in masked_candidates(r)
	table_matches(r.table, want)
}

ref_label(r, c) := c if r.table == ""

ref_label(r, _) := concat(".", [r.table, r.column]) if r.table != ""

specific_denials contains [i, msg] if {
	common.is_agent
	some [i, r, c] in masked_references
	r.position != "select"
	msg := concat("", [
		"agents may use masked column ", ref_label(r, c), " only in a plain select list, not in ",
		r.position, ": ", label(i, statements[i]),
	])
}

specific_denials contains [i, msg] if {
	some [i, r, c] in masked_references
	r.position == "write"
	msg := concat("", ["masked column ", ref_label(r, c), " may not be copied into a write: ", label(i, statements[i])])
}

# "pg_catalog.pg_stats" -> "pg_stats"
relation_base(name) := lower(name) if {
	not contains(name, ".") # the common case: no array to split into
} else := parts[count(parts) - 1] if {
	parts := split(lower(name), ".")
}

specific_denials contains [i, msg] if {
	common.is_agent
	some i, s in statements
	some name in s.reads
	sampled_relation(relation_base(name))
	msg := concat("", ["agents may not read ", name, " (it holds sampled column values): ", label(i, s)])
}
