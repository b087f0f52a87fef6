package gatehouse.sql_test

import data.gatehouse.main.decision
import data.gatehouse.testdata as t

pii_columns := ["customers.card_number", "customers.email", "customers.phone", "customers.ssn"]

agent_detectors := ["card", "email", "national_id", "phone", "secret"]

test_agent_select_allowed_batched_masked if {
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [t.select_customers])
	d.allow == true
	d.reasons == ["read-only statements are allowed"]
	d.approval == t.no_approval
	d.audit == "batched"
	d.mask == {"columns": pii_columns, "fields": [], "detectors": agent_detectors}
}

test_agent_insert_denied if {
	insert := t.stmt("insert", "INSERT INTO orders VALUES (1)", false)
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [t.select_customers, insert])
	d.allow == false
	d.reasons == ["agents are read-only: statement 2 (insert) is not read-only"]
	d.approval == t.no_approval
	d.audit == "sync"
}

test_agent_update_with_where_denied if {
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [t.update_with_where])
	d.allow == false
	d.reasons == ["agents are read-only: statement 1 (update) is not read-only"]
}

test_agent_statement_without_read_only_flag_denied if {
	s := object.remove(t.select_customers, ["read_only"])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["agents are read-only: statement 1 (select) is not read-only"]
}

test_human_update_with_where_allowed_sync if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.update_with_where])
	d.allow == true
	d.reasons == ["people may change data (UPDATE and DELETE need a WHERE clause)"]
	d.audit == "sync"
	d.mask.detectors == []
	d.mask.columns == pii_columns
}

test_delete_without_where_denied_for_everyone if {
	every who in [t.human, t.pii_reader, t.agent] {
		d := decision with input as t.sql_input(who, t.demo_pg, [t.delete_without_where])
		d.allow == false
		"DELETE without WHERE is not allowed: statement 1 (delete)" in d.reasons
	}
}

test_update_without_where_denied_for_humans if {
	s := t.stmt("update", "UPDATE orders SET status = 'x'", false)
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["UPDATE without WHERE is not allowed: statement 1 (update)"]
}

test_update_with_missing_has_where_denied if {
	s := object.remove(t.update_with_where, ["has_where"])
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["UPDATE without WHERE is not allowed: statement 1 (update)"]
}

test_truncate_denied if {
	s := t.stmt("truncate", "TRUNCATE orders", false)
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["TRUNCATE removes every row and is not allowed: statement 1 (truncate)"]
}

test_parse_error_denied if {
	base := t.sql_input(t.human, t.demo_pg, [])
	inp := json.patch(base, [{"op": "replace", "path": "/request/sql/parse_error", "value": "syntax error at or near \"SELEC\""}])
	d := decision with input as inp
	d.allow == false
	d.reasons == ["SQL could not be parsed: syntax error at or near \"SELEC\""]
	d.audit == "sync"
}

test_no_statements_denied if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [])
	d.allow == false
	d.reasons == ["the request holds no SQL statements"]
}

test_missing_sql_object_denied if {
	inp := json.remove(t.sql_input(t.human, t.demo_pg, []), ["request/sql"])
	d := decision with input as inp
	d.allow == false
	d.reasons == ["request.sql is missing"]
}

test_ddl_on_demo_pg_requires_dba_approval_for_humans if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.create_table])
	d.allow == false
	d.reasons == ["DDL on connection demo-pg requires approval by dba"]
	d.approval == {"required": true, "groups": ["dba"], "approvals_needed": 1, "ttl_seconds": 900, "reuse_seconds": 0}
	d.audit == "sync"
}

test_ddl_on_demo_pg_requires_dba_approval_for_agents if {
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [t.select_customers, t.create_table])
	d.allow == false
	d.reasons == ["DDL on connection demo-pg requires approval by dba"]
	d.approval.required == true
	d.approval.groups == ["dba"]
}

test_ddl_detected_by_type_even_without_flag if {
	s := object.union(t.stmt("alter_table", "ALTER TABLE t ADD c int", false), {"ddl": false})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.approval.required == true
}

test_ddl_marked_read_only_is_still_ddl if {
	s := object.union(t.create_table, {"read_only": true})
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	d.approval.required == true
	d.audit == "sync"
}

test_ddl_denied_on_connection_without_rule if {
	d := decision with input as t.sql_input(t.human, t.analytics_pg, [t.create_table])
	d.allow == false
	d.reasons == ["DDL is not allowed on connection analytics-pg: statement 1 (create_table)"]
	d.approval == t.no_approval
}

test_deny_wins_over_approval if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.create_table, t.delete_without_where])
	d.allow == false
	d.reasons == ["DELETE without WHERE is not allowed: statement 2 (delete)"]
	d.approval == t.no_approval
}

test_matching_grant_allows_ddl if {
	inp := object.union(t.sql_input(t.human, t.demo_pg, [t.create_table]), {"grants": [t.dba_grant("alice")]})
	d := decision with input as inp
	d.allow == true
	d.reasons == ["approved earlier (grant grant-1): DDL on connection demo-pg requires approval by dba"]
	d.approval == t.no_approval
	d.grants_used == ["grant-1"]
}

test_grant_not_named_when_allowed_for_another_reason if {
	inp := object.union(t.sql_input(t.human, t.demo_pg, [t.select_customers]), {"grants": [t.dba_grant("alice")]})
	d := decision with input as inp
	d.allow == true
	d.grants_used == []
}

test_grant_not_named_when_denied if {
	inp := object.union(t.sql_input(t.human, t.demo_pg, [t.delete_without_where]), {"grants": [t.dba_grant("alice")]})
	d := decision with input as inp
	d.allow == false
	d.grants_used == []
}

test_grant_not_reused_when_it_does_not_match if {
	base := t.sql_input(t.human, t.demo_pg, [t.create_table])
	non_matching := [
		t.dba_grant("mallory"),
		object.union(t.dba_grant("alice"), {"expires_at": t.now.unix}),
		object.union(t.dba_grant("alice"), {"fingerprint": "fp-other"}),
		object.union(t.dba_grant("alice"), {"connection": "analytics-pg"}),
		object.union(t.dba_grant("alice"), {"groups": ["oncall"]}),
		object.union(t.dba_grant("alice"), {"approvals": 0}),
	]
	count(non_matching) == 6
	every g in non_matching {
		d := decision with input as object.union(base, {"grants": [g]})
		d.allow == false
		d.approval.required == true
	}
}

test_grant_ignored_without_request_fingerprint if {
	base := t.sql_input(t.human, t.demo_pg, [t.create_table])
	inp := json.patch(base, [
		{"op": "replace", "path": "/request/fingerprint", "value": ""},
		{"op": "replace", "path": "/grants", "value": [object.union(t.dba_grant("alice"), {"fingerprint": ""})]},
	])
	d := decision with input as inp
	d.approval.required == true
}

test_pii_reader_sees_unmasked_columns if {
	d := decision with input as t.sql_input(t.pii_reader, t.demo_pg, [t.select_customers])
	d.allow == true
	d.mask == {"columns": [], "fields": [], "detectors": []}
}

test_agent_in_pii_readers_still_gets_detectors if {
	reader_agent := object.union(t.agent, {"groups": ["pii-readers"]})
	d := decision with input as t.sql_input(reader_agent, t.demo_pg, [t.select_customers])
	d.mask == {"columns": [], "fields": [], "detectors": agent_detectors}
}

test_pii_columns_from_connection_tag if {
	conn := object.union(t.demo_pg, {"tags": {"gatehouse.pii_columns": " Orders.Address , public.users.birth_date,"}})
	d := decision with input as t.sql_input(t.human, conn, [t.select_customers])
	"orders.address" in d.mask.columns
	"public.users.birth_date" in d.mask.columns
	"customers.ssn" in d.mask.columns
	count(d.mask.columns) == 6
}

test_pii_columns_from_data_document if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.select_customers])
		with data.gatehouse.config.pii.columns as ["patients.diagnosis"]
	d.mask.columns == ["patients.diagnosis"]
}

test_denied_function_schema_qualified if {
	s := object.union(t.select_customers, {"functions": ["pg_catalog.PG_READ_FILE"]})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["function pg_catalog.PG_READ_FILE is not allowed: statement 1 (select)"]
}

test_harmless_function_allowed if {
	s := object.union(t.select_customers, {"functions": ["lower", "now"]})
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == true
}

test_ddl_approval_rule_from_data_document if {
	rule := {"groups": ["platform", "dba"], "approvals_needed": 2, "ttl_seconds": 300, "reuse_seconds": 600}
	d := decision with input as t.sql_input(t.human, t.analytics_pg, [t.create_table])
		with data.gatehouse.config.sql.ddl_approval as {"analytics-pg": rule}
	d.approval == {"required": true, "groups": ["dba", "platform"], "approvals_needed": 2, "ttl_seconds": 300, "reuse_seconds": 600}
	d.reasons == ["DDL on connection analytics-pg requires approval by platform, dba"]
}

test_non_string_parse_error_denied if {
	inp := json.patch(t.sql_input(t.human, t.demo_pg, [t.select_customers]), [{"op": "replace", "path": "/request/sql/parse_error", "value": true}])
	d := decision with input as inp
	d.allow == false
	d.reasons == ["SQL could not be parsed"]
}

test_statement_without_type_is_named_unknown if {
	s := object.remove(t.update_with_where, ["type"])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["agents are read-only: statement 1 (unknown) is not read-only"]
}

test_grant_is_ddl_even_when_not_flagged if {
	s := object.union(t.stmt("grant", "GRANT SELECT ON t TO bob", false), {"ddl": false})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.approval.required == true
	d.reasons == ["DDL on connection demo-pg requires approval by dba"]
}

test_truncate_flagged_as_ddl_is_still_denied if {
	s := t.stmt("truncate", "TRUNCATE orders", false)
	s.ddl == true
	every who in [t.agent, t.human] {
		d := decision with input as t.sql_input(who, t.demo_pg, [s])
		d.allow == false
		d.reasons == ["TRUNCATE removes every row and is not allowed: statement 1 (truncate)"]
		d.approval == t.no_approval
	}
}
