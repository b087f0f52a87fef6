# SQL (PostgreSQL) requests: input.request.kind == "sql".
#
# Example rules a team starts from:
#   - a request that did not parse is denied;
#   - agents are read-only: a statement that is not read-only is denied for an agent, except DDL on a
#     connection with a DDL approval rule, which goes to approval like everyone else's;
#   - UPDATE/DELETE without WHERE and TRUNCATE are denied for everyone;
#   - DDL needs approval (config sql.ddl_approval[<connection>], e.g. group "dba" on "demo-pg"), and is
#     denied on connections without such a rule;
#   - functions that reach the server's files, other servers or other sessions are denied for everyone;
#   - PII columns are masked for everyone outside the PII reader groups.
package gatehouse.sql

import data.gatehouse.common

cfg := object.get(common.config, "sql", {})

connection_name := input.connection.name

default statements := []

statements := input.request.sql.statements if is_array(input.request.sql.statements)

has_parse_error if {
	e := input.request.sql.parse_error
	e != null
	e != ""
}

stmt_type(s) := lower(s.type) if {
	is_string(s.type)
} else := "unknown"

# "statement 2 (update)": how reasons name a statement (1-based, in the order of the SQL text).
label(i, s) := concat("", ["statement ", format_int(i + 1, 10), " (", stmt_type(s), ")"])

# Statement types (as the analyzer names them: create_table, alter_table, drop, grant, grant_role, ...) that
# change schema or privileges.
ddl_type_prefixes := {"alter", "comment", "create", "drop", "grant", "revoke"}

# DDL when the analyzer says so (it includes TRUNCATE), or when the statement type starts with a DDL verb.
is_ddl(s) if {
	s.ddl == true
} else if {
	ddl_type(stmt_type(s))
}

ddl_type(t) if {
	t != "select" # the most common type, and no DDL prefix: skip the checks
	ddl_prefixed(t)
}

# Starts with one of ddl_type_prefixes (checked in turn: no set built for every statement).
ddl_prefixed(t) if {
	startswith(t, "alter")
} else if {
	startswith(t, "comment")
} else if {
	startswith(t, "create")
} else if {
	startswith(t, "drop")
} else if {
	startswith(t, "grant")
} else if {
	startswith(t, "revoke")
}

# Read-only only when the analyzer says so explicitly; a DDL statement is never read-only.
read_only_stmt(s) if {
	s.read_only == true
	not is_ddl(s)
}

# Only a rule that names at least one approver group counts; a malformed rule means "no rule" (deny).
ddl_rule := r if {
	r := cfg.ddl_approval[connection_name]
	is_array(r.groups)
	count(r.groups) > 0
}

ddl_via_approval(s) if {
	is_ddl(s)
	ddl_rule
}

denied_functions := {f | some f in object.get(cfg, "denied_functions", [])}

# "pg_catalog.pg_read_file" -> "pg_read_file"
function_base(f) := name if {
	parts := split(lower(f), ".")
	name := parts[count(parts) - 1]
}

# ---- deny -------------------------------------------------------------------------------------------

sql_present if is_object(input.request.sql)

deny contains "request.sql is missing" if not sql_present

deny contains msg if {
	e := input.request.sql.parse_error
	is_string(e)
	e != ""
	msg := concat("", ["SQL could not be parsed: ", e])
}

deny contains "SQL could not be parsed" if {
	e := input.request.sql.parse_error
	e != null
	not is_string(e)
}

deny contains "the request holds no SQL statements" if {
	sql_present
	not has_parse_error
	count(statements) == 0
}

deny contains d[1] if some d in specific_denials

deny contains msg if {
	some i, s in statements
	not covered(s)
	not denied_statement(i)
	msg := concat("", ["no rule allows ", label(i, s)])
}

# [statement index, reason]
specific_denials contains [i, msg] if {
	common.is_agent
	some i, s in statements
	not read_only_stmt(s)
	not ddl_via_approval(s)
	not setting_stmt(s) # judged by the rules of sql_settings.rego
	msg := concat("", ["agents are read-only: ", label(i, s), " is not read-only"])
}

specific_denials contains [i, msg] if {
	some i, s in statements
	unfiltered_change(stmt_type(s))
	not s.has_where == true
	msg := concat("", [upper(stmt_type(s)), " without WHERE is not allowed: ", label(i, s)])
}

# DELETE and UPDATE need a WHERE clause (no set literal, which would be built for every statement).
unfiltered_change(t) if {
	t == "update"
} else if {
	t == "delete"
}

specific_denials contains [i, msg] if {
	some i, s in statements
	stmt_type(s) == "truncate"
	msg := concat("", ["TRUNCATE removes every row and is not allowed: ", label(i, s)])
}

specific_denials contains [i, msg] if {
	some i, s in statements
	is_ddl(s)
	not ddl_rule
	msg := concat("", ["DDL is not allowed on connection ", connection_name, ": ", label(i, s)])
}

specific_denials contains [i, msg] if {
	some i, s in statements
	some f in s.functions
	function_base(f) in denied_functions
	msg := concat("", ["function ", f, " is not allowed: ", label(i, s)])
}

denied_statement(i) if {
	some d in specific_denials
	d[0] == i
}

# Default deny per statement: each statement must be read-only, a person's data change, or DDL with an
# approval rule.
# (One rule with `else`, not several: the wasm planner evaluates every body of a multi-body function, and the
# first one decides the common case.)
covered(s) if {
	read_only_stmt(s)
} else if {
	common.is_human
	not is_ddl(s)
} else if {
	ddl_via_approval(s)
} else if {
	allowed_setting_stmt(s) # sql_settings.rego
}

# ---- approval ---------------------------------------------------------------------------------------

approvals contains a if {
	some s in statements
	ddl_via_approval(s)
	reason := concat("", ["DDL on connection ", connection_name, " requires approval by ", concat(", ", ddl_rule.groups)])
	a := common.approval_requirement(reason, ddl_rule)
}

# ---- allow ------------------------------------------------------------------------------------------

allow contains "read-only statements are allowed" if {
	some s in statements
	read_only_stmt(s)
}

allow contains "people may change data (UPDATE and DELETE need a WHERE clause)" if {
	common.is_human
	some s in statements
	not read_only_stmt(s)
	not is_ddl(s)
}

# ---- masking ----------------------------------------------------------------------------------------

pii := object.get(common.config, "pii", {})

pii_columns contains c if {
	some raw in object.get(pii, "columns", [])
	c := lower(trim_space(raw))
}

# A connection may add columns with a tag (config pii.connection_tag), comma-separated:
#   tags: {"gatehouse.pii_columns": "orders.address, public.users.birth_date"}
pii_columns contains c if {
	tag := object.get(pii, "connection_tag", "")
	tag != ""
	value := input.connection.tags[tag]
	is_string(value)
	some raw in split(value, ",")
	c := lower(trim_space(raw))
	c != ""
}

mask_columns := set() if {
	common.in_any_group(object.get(pii, "reader_groups", []))
} else := pii_columns

# ---- audit ------------------------------------------------------------------------------------------

default read_only := false

read_only if {
	sql_present
	not has_parse_error
	count(statements) > 0
	every s in statements {
		read_only_stmt(s)
	}
}
