package gatehouse.sql_settings_test

import data.gatehouse.main.decision
import data.gatehouse.testdata as t

set_stmt(text, settings) := object.union(t.stmt("set", text, false), {"settings": settings, "opaque": false, "name_ref": null})

setting(name, value, scope) := {"name": name, "value": value, "action": "set", "scope": scope}

test_agent_statement_timeout_allowed if {
	s := set_stmt("SET statement_timeout = 5000", [setting("statement_timeout", "5000", "session")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == true
	d.reasons == ["allowed session settings"]
	d.audit == "sync"
}

test_agent_set_local_allowed if {
	s := set_stmt("SET LOCAL lock_timeout = 100", [setting("lock_timeout", "100", "local")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == true
}

test_agent_search_path_denied if {
	s := set_stmt("SET search_path = evil, pg_catalog", [setting("search_path", "evil, pg_catalog", "session")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["agents may not change setting search_path: statement 1 (set)"]
}

test_agent_set_config_in_select_denied if {
	s := object.union(t.stmt("select", "SELECT set_config('work_mem', '1GB', false)", false), {"settings": [setting("work_mem", "1GB", "session")]})
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	"agents may not change setting work_mem: statement 1 (select)" in d.reasons
}

test_agent_unknown_setting_name_denied if {
	s := set_stmt("UPDATE pg_settings …", [setting(null, null, "session")])
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["agents may not change setting (a setting whose name is not constant): statement 1 (set)"]
}

test_agent_reset_all_allowed if {
	s := object.union(t.stmt("reset", "RESET ALL", false), {"settings": [{"name": null, "value": null, "action": "reset_all", "scope": "session"}]})
	d := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	d.allow == true
}

test_human_search_path_allowed if {
	s := set_stmt("SET search_path = app", [setting("search_path", "app", "session")])
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == true
}

test_set_role_denied_for_everyone if {
	s := set_stmt("SET ROLE admin", [setting("role", "admin", "session")])
	h := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	h.allow == false
	h.reasons == ["changing role is not allowed: statement 1 (set)"]
	a := decision with input as t.sql_input(t.agent, t.demo_pg, [s])
	a.allow == false
}

test_unknown_name_denied_for_everyone if {
	s := object.union(t.stmt("execute", "EXECUTE p", false), {
		"opaque": true, "ddl": true,
		"name_ref": {"op": "execute", "kind": "statement", "name": "p", "hold": false, "statement": null, "known": false},
	})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	"unknown statement name \"p\" (gatehouse decides on the statement behind a name): statement 1 (execute)" in d.reasons
}

test_execute_of_delete_without_where_denied_for_people if {
	s := object.union(t.delete_without_where, {
		"text": "EXECUTE p",
		"name_ref": {"op": "execute", "kind": "statement", "name": "p", "hold": false, "statement": null, "known": true},
	})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.reasons == ["DELETE without WHERE is not allowed: statement 1 (delete)"]
}

test_opaque_statement_needs_ddl_approval_for_people if {
	s := object.union(t.stmt("do", "DO $$ … $$", false), {"opaque": true, "ddl": true})
	d := decision with input as t.sql_input(t.human, t.demo_pg, [s])
	d.allow == false
	d.approval.required == true
	d.approval.groups == ["dba"]
	a := decision with input as t.sql_input(t.agent, t.analytics_pg, [s])
	a.allow == false
	a.approval.required == false
}
