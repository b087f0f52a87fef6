# SQL session settings and names (part of package gatehouse.sql; see policies/README.md, "settings" and "name_ref").
#
#   - Settings that change how SQL is read or results are encoded (client_encoding, standard_conforming_strings,
#     backslash_quote, bytea_output) are pinned by the gateway itself, whatever this policy says.
#   - Agents may change only the settings in config sql.agent_settings (timeouts, display formats, transaction
#     characteristics); RESET and RESET ALL are always allowed (they return to the gateway's session defaults).
#     search_path is not on the list: it can make unqualified names (tables, and functions the analyzer trusts
#     as built-in) resolve to objects someone created.
#   - Nobody changes role or session_authorization (SET ROLE, SET SESSION AUTHORIZATION, set_config('role', …)):
#     the upstream login's privileges are what policy reasons about.
#   - A name the gateway does not know (EXECUTE/FETCH/MOVE, protocol Bind/Execute) is denied for everyone.
package gatehouse.sql

import data.gatehouse.common

agent_settings := {lower(n) | some n in object.get(cfg, "agent_settings", [])}

denied_settings := {"role", "session_authorization"}

settings_of(s) := s.settings if is_array(s.settings)

else := []

setting_label(x) := x.name if is_string(x.name)

else := "(a setting whose name is not constant)"

# A change an agent may make: resets, and sets of allow-listed settings in the session or transaction.
agent_setting_ok(x) if x.action in {"reset", "reset_all"}

agent_setting_ok(x) if {
	x.action == "set"
	x.scope in {"session", "local"}
	is_string(x.name)
	x.name in agent_settings
}

# SET/RESET statements whose every change is allowed for the caller (agents) count as covered.
setting_stmt(s) if {
	setting_type(stmt_type(s))
	count(settings_of(s)) > 0
}

# "set" or "reset" (no set literal, which would be built for every statement).
setting_type(t) if {
	t == "set"
} else if {
	t == "reset"
}

allowed_setting_stmt(s) if {
	setting_stmt(s)
	not common.is_agent
	every x in settings_of(s) {
		not denied_setting(x)
	}
}

allowed_setting_stmt(s) if {
	setting_stmt(s)
	common.is_agent
	every x in settings_of(s) {
		agent_setting_ok(x)
		not denied_setting(x)
	}
}

denied_setting(x) if {
	x.action == "set"
	x.name in denied_settings
}

specific_denials contains [i, msg] if {
	common.is_agent
	some i, s in statements
	some x in settings_of(s)
	not agent_setting_ok(x)
	msg := concat("", ["agents may not change setting ", setting_label(x), ": ", label(i, s)])
}

specific_denials contains [i, msg] if {
	some i, s in statements
	some x in settings_of(s)
	denied_setting(x)
	msg := concat("", ["changing ", x.name, " is not allowed: ", label(i, s)])
}

specific_denials contains [i, msg] if {
	some i, s in statements
	s.name_ref.known == false
	msg := concat("", [
		"unknown ", s.name_ref.kind, " name \"", s.name_ref.name, "\" (gatehouse decides on the statement behind a name): ",
		label(i, s),
	])
}

# covered(s) (sql.rego) includes allowed_setting_stmt(s).

allow contains "allowed session settings" if {
	some s in statements
	allowed_setting_stmt(s)
}
