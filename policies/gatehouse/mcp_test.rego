package gatehouse.mcp_test

import data.gatehouse.main.decision
import data.gatehouse.testdata as t

oncall_approval := {"required": true, "groups": ["oncall"], "approvals_needed": 1, "ttl_seconds": 900, "reuse_seconds": 0}

all_detectors := ["card", "email", "national_id", "phone", "secret"]

test_plumbing_allowed_for_everyone if {
	every m in ["initialize", "ping", "server/discover", "tools/list", "resources/list", "prompts/list"] {
		every who in [t.agent, t.human] {
			d := decision with input as t.mcp_msg(who, {"method": m})
			d.allow == true
			d.audit == "batched"
		}
	}
}

test_notifications_and_responses_allowed if {
	d1 := decision with input as t.mcp_msg(t.agent, {"message_type": "notification", "method": "notifications/initialized"})
	d1.allow == true
	d2 := decision with input as t.mcp_msg(t.agent, {"message_type": "response"})
	d2.allow == true
}

test_agent_list_customers_allowed_masked if {
	d := decision with input as t.mcp_call(t.agent, "list_customers", {"limit": 5})
	d.allow == true
	d.reasons == ["tool list_customers is allowed for agents"]
	d.mask.fields == ["customers[*].card_number"]
	d.mask.detectors == all_detectors
	d.audit == "batched"
}

test_person_list_customers_allowed_card_numbers_masked if {
	d := decision with input as t.mcp_call(t.human, "list_customers", {})
	d.allow == true
	d.mask.fields == ["customers[*].card_number"]
	d.mask.detectors == []
}

test_agent_delete_customer_denied if {
	d := decision with input as t.mcp_call(t.agent, "delete_customer", {"id": 3})
	d.allow == false
	d.reasons == ["tool delete_customer is denied for agents"]
	d.approval.required == false
}

test_person_delete_customer_needs_oncall_approval if {
	d := decision with input as t.mcp_call(t.human, "delete_customer", {"id": 3})
	d.allow == false
	d.approval == oncall_approval
	d.reasons == ["tool delete_customer requires approval by oncall"]
	d.audit == "sync"
}

test_person_delete_customer_with_grant_allowed if {
	grant := {
		"id": "appr-1", "sub": "alice", "connection": "demo-mcp", "fingerprint": "f-mcp", "groups": ["oncall"],
		"approvals": 1, "approved_at": 1767225800, "expires_at": 1767226800,
	}
	d := decision with input as object.union(t.mcp_call(t.human, "delete_customer", {"id": 3}), {"grants": [grant]})
	d.allow == true
	d.reasons == ["approved earlier (grant appr-1): tool delete_customer requires approval by oncall"]
}

test_unlisted_tool_denied_for_agents_allowed_for_people if {
	a := decision with input as t.mcp_call(t.agent, "drop_everything", {})
	a.allow == false
	a.reasons == ["tool drop_everything is denied for agents"]
	h := decision with input as t.mcp_call(t.human, "drop_everything", {})
	h.allow == true
	h.audit == "sync"
}

test_changed_tool_denied_for_agents if {
	d := decision with input as t.mcp_msg(t.agent, {"method": "tools/call", "tool": "list_customers", "arguments": {}, "tool_changed": true})
	d.allow == false
	d.reasons == ["tool list_customers changed its definition since it was first seen (possible tool poisoning)"]
}

test_changed_tool_needs_approval_for_people if {
	d := decision with input as t.mcp_msg(t.human, {"method": "tools/call", "tool": "list_customers", "arguments": {}, "tool_changed": true})
	d.allow == false
	d.approval == oncall_approval
}

test_listing_phase_hides_denied_tools if {
	hidden := decision with input as t.mcp_msg(t.agent, {"method": "tools/call", "tool": "delete_customer", "phase": "list"})
	hidden.allow == false
	hidden.approval.required == false
	shown := decision with input as t.mcp_msg(t.human, {"method": "tools/call", "tool": "delete_customer", "phase": "list"})
	shown.approval.required == true
}

test_call_without_tool_denied if {
	d := decision with input as t.mcp_msg(t.human, {"method": "tools/call"})
	d.allow == false
	d.reasons == ["tools/call without a tool name"]
}

test_unknown_method_not_allowed if {
	d := decision with input as t.mcp_msg(t.human, {"method": "admin/shutdown"})
	d.allow == false
	d.reasons == ["no rule allows this request"]
}
