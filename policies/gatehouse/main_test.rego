package gatehouse.main_test

import data.gatehouse.main.decision
import data.gatehouse.testdata as t

# Every decision carries every field, with the documented types, whatever the input.
complete(d) if {
	is_boolean(d.allow)
	is_array(d.reasons)
	count(d.reasons) > 0
	is_boolean(d.approval.required)
	is_array(d.approval.groups)
	is_number(d.approval.approvals_needed)
	is_number(d.approval.ttl_seconds)
	is_number(d.approval.reuse_seconds)
	is_array(d.mask.columns)
	is_array(d.mask.fields)
	is_array(d.mask.detectors)
	d.audit in {"sync", "batched"}
	is_array(d.grants_used)
	count(object.keys(d)) == 6
}

test_decision_is_complete_for_any_input if {
	every inp in [
		{},
		{"request": {"kind": "http"}},
		t.sql_input(t.agent, t.demo_pg, [t.select_customers]),
		t.sql_input(t.human, t.demo_pg, [t.create_table]),
		t.sql_input(t.human, t.demo_pg, [t.delete_without_where]),
		t.ssh_exec(t.agent, "rm -rf /"),
		t.ssh_input(t.human, {"type": "shell", "pty": true}),
	] {
		d := decision with input as inp
		complete(d)
	}
}

test_empty_input_denied if {
	d := decision with input as {}
	d.allow == false
	d.reasons == ["identity is missing", "request kind is missing"]
	d.audit == "sync"
	d.approval == t.no_approval
	d.mask.detectors == ["card", "email", "national_id", "phone", "secret"]
}

test_unknown_request_kind_denied if {
	inp := json.patch(t.sql_input(t.human, t.demo_pg, [t.select_customers]), [{"op": "replace", "path": "/request/kind", "value": "grpc"}])
	d := decision with input as inp
	d.allow == false
	d.reasons == ["no policy handles request kind 'grpc'"]
	d.mask.columns == []
}

test_identity_without_subject_denied if {
	inp := t.sql_input(object.union(t.human, {"sub": ""}), t.demo_pg, [t.select_customers])
	d := decision with input as inp
	d.allow == false
	d.reasons == ["identity has no subject"]
}

test_missing_agent_flag_is_treated_as_agent if {
	someone := object.remove(t.human, ["agent"])
	d := decision with input as t.sql_input(someone, t.demo_pg, [t.update_with_where])
	d.allow == false
	d.reasons == ["agents are read-only: statement 1 (update) is not read-only"]
	d.mask.detectors == ["card", "email", "national_id", "phone", "secret"]
}

test_string_agent_flag_is_treated_as_agent if {
	someone := object.union(t.human, {"agent": "false"})
	d := decision with input as t.ssh_input(someone, {"type": "shell", "pty": true})
	d.allow == false
}

test_missing_configuration_denied if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.select_customers])
		with data.gatehouse.config as null
	d.allow == false
	"policy configuration (data.gatehouse.config) is missing" in d.reasons
}

test_default_deny_when_nothing_allows if {
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.select_customers])
		with data.gatehouse.sql.allow as set()
	d.allow == false
	d.reasons == ["no rule allows this request"]
}

test_approvals_merge_to_the_strictest if {
	a1 := {"reason": "r1", "groups": ["dba"], "approvals_needed": 1, "ttl_seconds": 900, "reuse_seconds": 600}
	a2 := {"reason": "r2", "groups": ["security"], "approvals_needed": 2, "ttl_seconds": 300, "reuse_seconds": 0}
	d := decision with input as t.sql_input(t.human, t.demo_pg, [t.select_customers])
		with data.gatehouse.sql.approvals as {a1, a2}
	d.allow == false
	d.reasons == ["r1", "r2"]
	d.approval == {"required": true, "groups": ["dba", "security"], "approvals_needed": 2, "ttl_seconds": 300, "reuse_seconds": 0}
}
