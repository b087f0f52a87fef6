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

handled_kinds := {"sql", "ssh", "mcp", "http"}

default request_kind := ""

request_kind := k if {
	k := input.request.kind
	is_string(k)
}

# ---- collect from the protocol module ---------------------------------------------------------------

deny contains r if {
	request_kind == "sql"
	some r in sql.deny
}

deny contains r if {
	request_kind == "ssh"
	some r in ssh.deny
}

deny contains r if {
	request_kind == "mcp"
	some r in mcp.deny
}

deny contains r if {
	request_kind == "http"
	some r in http.deny
}

deny contains "request kind is missing" if request_kind == ""

deny contains msg if {
	request_kind != ""
	not request_kind in handled_kinds
	msg := concat("", ["no policy handles request kind '", request_kind, "'"])
}

deny contains r if some r in common.identity_problems

config_present if is_object(data.gatehouse.config)

deny contains "policy configuration (data.gatehouse.config) is missing" if not config_present

# Only one protocol module contributes to each of these: the module's own set, taken whole (an else chain, not a
# rule per kind copying members into a new set).
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

# Content detectors are always on for agents, whatever the protocol.
detectors contains d if {
	common.is_agent
	some d in object.get(common.config, "agent_detectors", [])
}

default read_only := false

read_only if {
	request_kind == "http"
	http.read_only
}

read_only if {
	request_kind == "sql"
	sql.read_only
}

read_only if {
	request_kind == "ssh"
	ssh.read_only
}

read_only if {
	request_kind == "mcp"
	mcp.read_only
}

# ---- approvals and earlier grants -------------------------------------------------------------------

satisfied contains a if {
	some a in approvals
	count(common.satisfying_grant_ids(a)) > 0
}

pending := approvals - satisfied

# The grants this decision relies on: those that satisfied a requirement of an allowed request. A grant that
# merely exists (the request was allowed for another reason) is not used, and is not named.
grants_used := sort({id | some a in satisfied; some id in common.satisfying_grant_ids(a)}) if {
	allow
} else := []

grant_reasons contains msg if {
	some a in satisfied
	some id in common.satisfying_grant_ids(a)
	msg := concat("", ["approved earlier (grant ", id, "): ", a.reason])
}

# ---- decision ---------------------------------------------------------------------------------------

denied if count(deny) > 0

default allow := false

allow if {
	not denied
	count(pending) == 0
	count(allow_reasons | grant_reasons) > 0
}

reasons := sort(deny) if {
	denied
} else := sort({a.reason | some a in pending}) if {
	count(pending) > 0
} else := sort(allow_reasons | grant_reasons) if {
	allow
} else := ["no rule allows this request"]

no_approval := {"required": false, "groups": [], "approvals_needed": 0, "ttl_seconds": 0, "reuse_seconds": 0}

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
} else := no_approval

audit := "batched" if {
	read_only
} else := "sync"

decision := {
	"allow": allow,
	"reasons": reasons,
	"approval": approval,
	"mask": {
		"columns": sort(mask_columns),
		"fields": sort(mask_fields),
		"detectors": sort(detectors),
	},
	"audit": audit,
	"grants_used": grants_used,
}
