# HTTP requests through the reverse proxy: input.request.kind == "http" (services/gateway/http/README.md).
#
# Example rules a team starts from (configuration under gatehouse.config.http):
#   - reads (GET, HEAD, OPTIONS) are allowed to everyone;
#   - agents may not change anything: other methods are denied;
#   - people's changes need approval (config http.approval) unless listed in http.people_writes;
#   - JSON responses are masked by field path (config http.mask_fields, per connection) for callers outside
#     the PII reader groups; agents also get the content detectors (main.rego).
package gatehouse.http

import data.gatehouse.common

cfg := object.get(common.config, "http", {})

safe_methods := {"GET", "HEAD", "OPTIONS"}

# method in safe_methods, without building the set on every request.
safe_method if {
	method == "GET"
} else if {
	method == "HEAD"
} else if {
	method == "OPTIONS"
}

default method := ""

method := m if {
	m := input.request.http.method
	is_string(m)
}

http_present if is_object(input.request.http)

read_only if safe_method

deny contains "request.http is missing" if not http_present

deny contains msg if {
	http_present
	common.is_agent
	not safe_method
	msg := concat("", ["agents may only read through HTTP (GET, HEAD, OPTIONS), not ", method])
}

approval_rule := r if {
	r := cfg.approval
	is_array(r.groups)
	count(r.groups) > 0
}

deny contains "HTTP change requires approval but no http approval rule is configured" if {
	common.is_human
	http_present
	not safe_method
	not configured_write
	not approval_rule
}

# People's writes the configuration allows without approval: "METHOD /path-prefix" per connection.
configured_write if {
	common.is_human
	some w in object.get(object.get(cfg, "people_writes", {}), input.connection.name, [])
	parts := split(w, " ")
	parts[0] == method
	startswith(input.request.http.path, parts[1])
}

allow contains "HTTP write allowed for people by configuration" if configured_write

approvals contains a if {
	common.is_human
	http_present
	not safe_method
	not configured_write
	reason := concat("", [method, " ", input.request.http.path, " requires approval by ", concat(", ", approval_rule.groups)])
	a := common.approval_requirement(reason, approval_rule)
}

allow contains "HTTP read" if {
	http_present
	safe_method
}

pii_reader if common.in_any_group(object.get(common.config.pii, "reader_groups", []))

mask_fields contains f if {
	not pii_reader
	some f in object.get(object.get(cfg, "mask_fields", {}), input.connection.name, [])
}
