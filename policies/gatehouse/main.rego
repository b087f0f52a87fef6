# Entrypoint: gatehouse/main/decision. Routes the request to its protocol module and assembles the one
# decision shape the gateway expects (see policies/README.md). Every field is always present.
#
# Each protocol module (gatehouse.sql, gatehouse.ssh, ...) exposes the same rules:
#   deny[reason]  allow[reason]  approvals[requirement]  mask_columns[c]  mask_fields[f]  read_only (bool)
# and this file combines them: any deny wins; then pending approvals; then explicit allow reasons;
# otherwise the default deny.
package gatehouse.main

import data.gatehouse.common
import data.gatehouse.http
import data.gatehouse.mcp
import data.gatehouse.sql
import data.gatehouse.ssh

default request_kind := ""

request_kind := k if {
	k := input.request.kind
	is_string(k)
}

# ---- collect from the protocol module ---------------------------------------------------------------

# Every rule below takes the one contributing module's set whole, picked by an else chain: only the request's
# module is evaluated, and no members are copied into a new set. (In the wasm engine every rule reference is a
# memo lookup and every constant set is built afresh on each evaluation, so fewer rules and sets is faster.)
kind_deny := sql.deny if {
	request_kind == "sql"
} else := ssh.deny if {
	request_kind == "ssh"
} else := mcp.deny if {
	request_kind == "mcp"
} else := http.deny if {
	request_kind == "http"
} else := {"request kind is missing"} if {
	request_kind == ""
} else := {concat("", ["no policy handles request kind '", request_kind, "'"])}

config_present if is_object(data.gatehouse.config)

# The module's reasons, and those that apply whatever the protocol: identity problems, missing configuration.
deny := kind_deny if {
	common.valid_subject # no identity problem (a valid subject implies an identity)
	config_present
} else := (kind_deny | common.identity_problems) | {"policy configuration (data.gatehouse.config) is missing"} if {
	not config_present
} else := kind_deny | common.identity_problems

allow_reasons := sql.allow if {
	request_kind == "sql"
} else := ssh.allow if {
	request_kind == "ssh"
} else := mcp.allow if {
	request_kind == "mcp"
} else := http.allow if {
	request_kind == "http"
} else := set()

approvals := sql.approvals if {
	request_kind == "sql"
} else := ssh.approvals if {
	request_kind == "ssh"
} else := mcp.approvals if {
	request_kind == "mcp"
} else := http.approvals if {
	request_kind == "http"
} else := set()

mask_columns := sql.mask_columns if {
	request_kind == "sql"
} else := set()

mask_fields := ssh.mask_fields if {
	request_kind == "ssh"
} else := mcp.mask_fields if {
	request_kind == "mcp"
} else := http.mask_fields if {
	request_kind == "http"
} else := set()

# Content detectors are always on for agents, whatever the protocol (sorted, each once).
detectors := sort({d | some d in object.get(common.config, "agent_detectors", [])}) if {
	common.is_agent
} else := []

read_only := sql.read_only if {
	request_kind == "sql"
} else if {
	request_kind == "http"
	http.read_only
} else := ssh.read_only if {
	request_kind == "ssh"
} else := mcp.read_only if {
	request_kind == "mcp"
} else := false

# ---- approvals and earlier grants -------------------------------------------------------------------

satisfied contains a if {
	some a in approvals
	count(common.satisfying_grant_ids(a)) > 0
}

# Without approvals (most requests) nothing is pending and no grant is used: no set operations.
pending := set() if {
	count(approvals) == 0
} else := approvals - satisfied

# The grants this decision relies on: those that satisfied a requirement of an allowed request. A grant that
# merely exists (the request was allowed for another reason) is not used, and is not named.
grants_used := [] if {
	count(approvals) == 0
} else := sort({id | some a in satisfied; some id in common.satisfying_grant_ids(a)}) if {
	allow
} else := []

grant_reasons contains msg if {
	some a in satisfied
	some id in common.satisfying_grant_ids(a)
	msg := concat("", ["approved earlier (grant ", id, "): ", a.reason])
}

# Why the request may pass: the module's allow reasons, and earlier grants that satisfied its approvals.
allowed_by := allow_reasons if {
	count(approvals) == 0
} else := allow_reasons | grant_reasons

# ---- decision ---------------------------------------------------------------------------------------

denied if count(deny) > 0

default allow := false

allow if {
	not denied
	count(pending) == 0
	count(allowed_by) > 0
}

reasons := sort(deny) if {
	denied
} else := sort({a.reason | some a in pending}) if {
	count(pending) > 0
} else := sort(allowed_by) if {
	allow
} else := ["no rule allows this request"]

# Several requirements merge into the strictest: groups united, most approvals, shortest ttl and reuse.
approval := {
	"required": true,
	"groups": sort({g | some a in pending; some g in a.groups}),
	"approvals_needed": max({a.approvals_needed | some a in pending}),
	"ttl_seconds": min({a.ttl_seconds | some a in pending}),
	"reuse_seconds": min({a.reuse_seconds | some a in pending}),
} if {
	not denied
	count(pending) > 0
} else := {"required": false, "groups": [], "approvals_needed": 0, "ttl_seconds": 0, "reuse_seconds": 0}

decision := {
	"allow": allow,
	"reasons": reasons,
	"approval": approval,
	"mask": {
		"columns": sort(mask_columns),
		"fields": sort(mask_fields),
		"detectors": detectors,
	},
	"audit": audit,
	"grants_used": grants_used,
}

audit := "batched" if {
	read_only
} else := "sync"
