# Helpers shared by every protocol module: who is calling, configuration, and reuse of earlier approvals.
package gatehouse.common

# The configuration document (policies/gatehouse/data.json, key gatehouse.config).
default config := {}

config := data.gatehouse.config

# Fail safe: anyone not explicitly marked `agent: false` is treated as an agent (the stricter rules).
default is_agent := true

is_agent := false if input.identity.agent == false

is_human if not is_agent

# in_group(g) is true when the caller belongs to group g.
in_group(g) if {
	some x in input.identity.groups
	x == g
}

# in_any_group(gs) is true when the caller belongs to at least one of the groups gs.
in_any_group(gs) if {
	some g in gs
	in_group(g)
}

# (A negated call with an undefined argument is itself undefined in Rego, so presence checks go through
# helper rules: `not present` is true when the document is missing.)
identity_present if is_object(input.identity)

identity_problems contains "identity is missing" if not identity_present

identity_problems contains "identity has no subject" if {
	identity_present
	not valid_subject
}

valid_subject if {
	is_string(input.identity.sub)
	input.identity.sub != ""
}

# approval_requirement(reason, rule) builds one approval requirement from a config rule
# ({groups, approvals_needed, ttl_seconds, reuse_seconds}); missing numbers get safe defaults.
approval_requirement(reason, rule) := {
	"reason": reason,
	"groups": rule.groups,
	"approvals_needed": object.get(rule, "approvals_needed", 1),
	"ttl_seconds": object.get(rule, "ttl_seconds", 900),
	"reuse_seconds": object.get(rule, "reuse_seconds", 0),
}

# A grant (an earlier approval, see README "input.grants") satisfies requirement `a` when it was given to
# this caller, on this connection, for this exact request, has not expired, was approved by one of the
# required groups, and has enough approvals.
grant_satisfies(g, a) if {
	g.sub == input.identity.sub
	g.connection == input.connection.name
	is_string(input.request.fingerprint)
	input.request.fingerprint != ""
	g.fingerprint == input.request.fingerprint
	is_number(g.expires_at)
	g.expires_at > input.time.unix
	some group in g.groups
	group in a.groups
	g.approvals >= a.approvals_needed
}

# satisfying_grants[a] = ids of the grants that satisfy requirement a.
satisfying_grant_ids(a) := {g.id | some g in input.grants; grant_satisfies(g, a)}
