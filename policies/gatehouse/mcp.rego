# MCP messages: input.request.kind == "mcp" (services/gateway/mcp/README.md).
#
# Example rules a team starts from:
#   - protocol plumbing (initialize, ping, server/discover, listings, notifications, responses) is allowed;
#   - tools/call follows config mcp.tools[<tool>] per audience: "allow", "deny" or "approval" (by
#     mcp.approval.groups); tools not in the list follow mcp.unlisted_tools;
#   - a tool whose definition changed since the gateway first saw it (input.request.mcp.tool_changed, a
#     tool-poisoning signal) is denied for agents and needs approval for people;
#   - the same rules decide which tools a tools/list shows (phase "list"): a tool an audience may never call
#     is hidden from it; tools that need approval stay listed;
#   - mask_fields of a tool (JSON paths into its structured result) are masked for everyone; agents also get
#     the content detectors (main.rego).
package gatehouse.mcp

import data.gatehouse.common

cfg := object.get(common.config, "mcp", {})

default message_type := ""

message_type := m if {
	m := input.request.mcp.message_type
	is_string(m)
}

default method := ""

method := m if {
	m := input.request.mcp.method
	is_string(m)
}

default tool := ""

tool := t if {
	t := input.request.mcp.tool
	is_string(t)
}

tool_changed if input.request.mcp.tool_changed == true

plumbing_methods := {
	"initialize", "ping", "server/discover", "tools/list", "resources/list", "resources/templates/list",
	"prompts/list", "completion/complete", "logging/setLevel", "tasks/get", "tasks/result", "tasks/list",
	"tasks/cancel",
}

read_methods := {"resources/read", "resources/subscribe", "resources/unsubscribe", "prompts/get"}

audience := "agents" if common.is_agent

audience := "people" if common.is_human

tool_rule := object.get(object.get(cfg, "tools", {}), tool, null)

# The configured verdict for this tool and audience ("allow", "deny", "approval"); unlisted tools and missing
# entries follow mcp.unlisted_tools, and without that, deny.
default tool_verdict := "deny"

tool_verdict := v if {
	is_object(tool_rule)
	v := tool_rule[audience]
} else := v if {
	not is_object(tool_rule)
	v := cfg.unlisted_tools[audience]
}

# ---- allow ------------------------------------------------------------------------------------------

allow contains msg if {
	message_type != "request" # the most common type: skip building the set
	message_type in {"notification", "response"}
	msg := concat("", ["MCP ", message_type, " is allowed"])
}

allow contains msg if {
	message_type == "request"
	method != "tools/call" # the most common method, in neither list: skip building them
	method in plumbing_methods
	msg := concat("", ["MCP method ", method, " is allowed"])
}

allow contains msg if {
	message_type == "request"
	method != "tools/call"
	method in read_methods
	msg := concat("", ["MCP read method ", method, " is allowed"])
}

allow contains msg if {
	method == "tools/call"
	tool_verdict == "allow"
	not tool_changed
	msg := concat("", ["tool ", tool, " is allowed for ", audience])
}

# ---- deny -------------------------------------------------------------------------------------------

deny contains msg if {
	method == "tools/call"
	tool == ""
	msg := "tools/call without a tool name"
}

deny contains msg if {
	method == "tools/call"
	tool != ""
	tool_verdict == "deny"
	msg := concat("", ["tool ", tool, " is denied for ", audience])
}

deny contains msg if {
	method == "tools/call"
	tool != ""
	tool_changed
	common.is_agent
	msg := concat("", ["tool ", tool, " changed its definition since it was first seen (possible tool poisoning)"])
}

deny contains msg if {
	method == "tools/call"
	tool_verdict == "approval"
	not approval_rule
	msg := concat("", ["tool ", tool, " needs approval but no approver group is configured (mcp.approval)"])
}

# ---- approval ---------------------------------------------------------------------------------------

# Only a rule that names at least one approver group counts; anything else denies (fail closed).
approval_rule := r if {
	r := cfg.approval
	is_array(r.groups)
	count(r.groups) > 0
}

approvals contains a if {
	method == "tools/call"
	tool != ""
	tool_verdict == "approval"
	not tool_changed
	a := common.approval_requirement(
		concat("", ["tool ", tool, " requires approval by ", concat(", ", approval_rule.groups)]),
		approval_rule,
	)
}

approvals contains a if {
	method == "tools/call"
	tool != ""
	tool_verdict != "deny"
	tool_changed
	common.is_human
	a := common.approval_requirement(
		concat("", ["tool ", tool, " changed its definition since it was first seen; approval by ", concat(", ", approval_rule.groups)]),
		approval_rule,
	)
}

# ---- masking and audit ------------------------------------------------------------------------------

mask_fields contains f if {
	method == "tools/call"
	is_object(tool_rule)
	some f in object.get(tool_rule, "mask_fields", [])
}

default read_only := false

read_only if {
	message_type == "request"
	method != "tools/call"
	method in plumbing_methods
}

read_only if {
	message_type == "request"
	method != "tools/call"
	method in read_methods
}

read_only if {
	method == "tools/call"
	is_object(tool_rule)
	tool_rule.read_only == true
}
