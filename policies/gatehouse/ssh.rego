# SSH requests: input.request.kind == "ssh".
#
# Example rules a team starts from:
#   - agents may run a short allowlist of read-only commands (config ssh.agent_commands); file readers
#     (cat, head, tail) only under the log directories (config ssh.log_path_prefixes);
#   - agent commands with shell metacharacters, quotes or control characters are denied (no chaining,
#     substitution, redirection or expansion tricks);
#   - rm, systemctl, kill, shutdown, reboot, ... (config ssh.approval_commands) need approval by "oncall";
#     for people any word of the command counts (a guardrail: a person may also open a shell);
#   - interactive shells only for people; port/X11/agent forwarding and subsystems (sftp) are denied.
package gatehouse.ssh

import data.gatehouse.common

cfg := object.get(common.config, "ssh", {})

known_types := {"agent_forward", "exec", "port_forward", "shell", "subsystem", "x11"}

default request_type := ""

request_type := t if {
	t := input.request.ssh.type
	is_string(t)
}

default command := ""

command := c if {
	c := input.request.ssh.command
	is_string(c)
}

# Words of the command, split on spaces and tabs (agents cannot use quotes, so this matches the shell).
words := [w | some w in split(replace(command, "\t", " "), " "); w != ""]

program := words[0]

args := array.slice(words, 1, count(words))

basename(p) := b if {
	parts := split(p, "/")
	b := parts[count(parts) - 1]
}

# Characters that chain, substitute, redirect, quote, expand or comment in a POSIX shell.
forbidden_chars := {"!", "\"", "#", "$", "&", "'", "(", ")", ";", "<", ">", "\\", "`", "{", "|", "}"}

unsafe_command if {
	not only_safe_chars
	some c in forbidden_chars
	contains(command, c)
}

# Control characters, including newline and carriage return (tab is allowed as a separator).
unsafe_command if {
	not only_safe_chars
	regex.match(`[\x00-\x08\x0a-\x1f\x7f]`, command)
}

# Fast path (regex.match compiles its pattern on every evaluation): a command made only of tab and printable
# ASCII outside forbidden_chars holds neither a forbidden nor a control character. trim_left compares each
# character of the command with the cutset in order until one matches, so the cutset lists the characters of
# typical commands first (lower-case letters by frequency, space, path and option characters, digits).
safe_chars := "etaoinsrlcdhupmgfbywkvxzjq -/.~0123456789_=:,+*%?@^[]\tABCDEFGHIJKLMNOPQRSTUVWXYZ"

only_safe_chars if trim_left(command, safe_chars) == ""

# ---- approval ---------------------------------------------------------------------------------------

approval_commands := {c | some c in object.get(cfg, "approval_commands", [])}

# name in approval_commands, without building the set (one or a few names are looked up per request).
approval_command(name) if {
	some c in object.get(cfg, "approval_commands", [])
	c == name
}

# Agents: the program itself (also as a path, e.g. /bin/rm). People: any word of the command, so that
# "sudo rm", "xargs kill" or "ls; reboot" are caught too.
approval_matches contains basename(program) if {
	request_type == "exec"
	common.is_agent
	approval_command(basename(program))
}

approval_matches contains basename(w) if {
	request_type == "exec"
	common.is_human
	some w in words
	approval_command(basename(w))
}

# Only a rule that names at least one approver group counts; anything else denies (fail closed).
approval_rule := r if {
	r := cfg.approval
	is_array(r.groups)
	count(r.groups) > 0
}

approvals contains a if {
	count(approval_matches) > 0
	reason := concat("", [
		"command ", concat(", ", sort(approval_matches)),
		" requires approval by ", concat(", ", approval_rule.groups),
	])
	a := common.approval_requirement(reason, approval_rule)
}

# ---- agent allowlist --------------------------------------------------------------------------------

agent_commands := object.get(cfg, "agent_commands", {})

log_prefixes := object.get(cfg, "log_path_prefixes", [])

# Only bare names are allowlisted ("cat", not "/tmp/cat").
agent_allowed if {
	request_type == "exec"
	common.is_agent
	not unsafe_command
	mode := agent_commands[program]
	args_ok(mode)
}

# (Functions as else chains: the common case first, and no further body evaluated once one holds.)
args_ok(mode) if {
	mode == "any"
} else if {
	mode == "none"
	count(args) == 0
} else if {
	mode == "log_paths"
	every a in args {
		log_arg_ok(a)
	}
}

# An option: ^-{1,2}[A-Za-z0-9][A-Za-z0-9-]*$ (string built-ins, not regex.match, which compiles its pattern on
# every evaluation; the cutset lists lower-case letters first, by frequency). A count: ^[+-]?[0-9]+$. Or a path
# under a log prefix.
log_arg_ok(a) if {
	log_option(a)
} else if {
	digits(a)
} else if {
	some p in log_prefixes
	startswith(a, p)
	not contains(a, "..")
} else if {
	startswith(a, "+")
	digits(trim_prefix(a, "+"))
} else if {
	startswith(a, "-")
	digits(trim_prefix(a, "-"))
}

log_option(a) if {
	startswith(a, "-")
	rest := trim_prefix(trim_prefix(a, "-"), "-")
	rest != ""
	not startswith(rest, "-")
	trim_left(rest, "etaoinsrhldcumfpgwybvkxjqz-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

digits(x) if {
	x != ""
	trim_left(x, "0123456789") == ""
}

# ---- deny -------------------------------------------------------------------------------------------

ssh_present if is_object(input.request.ssh)

deny contains "request.ssh is missing" if not ssh_present

deny contains "ssh request type is missing" if {
	ssh_present
	request_type == ""
}

deny contains msg if {
	request_type != ""
	request_type != "exec" # the most common type: skip building the set
	not request_type in known_types
	msg := concat("", ["unsupported ssh request type '", request_type, "'"])
}

deny contains "empty command" if {
	request_type == "exec"
	count(words) == 0
}

deny contains msg if {
	request_type == "exec"
	common.is_agent
	unsafe_command
	msg := "agent commands may not contain shell metacharacters, quotes or control characters (; & | ` $ ( ) < > \\ ' \" { } ! # newline)"
}

deny contains msg if {
	request_type == "exec"
	common.is_agent
	count(words) > 0
	not unsafe_command
	not agent_allowed
	count(approval_matches) == 0
	msg := agent_denial(program)
}

agent_denial(p) := concat("", ["command '", p, "' is not allowed for agents with these arguments"]) if {
	agent_commands[p]
} else := concat("", ["command '", p, "' is not in the agent allowlist"])

deny contains "command requires approval but no ssh approval rule is configured" if {
	count(approval_matches) > 0
	not approval_rule
}

deny contains "interactive shells are only for people, not agents" if {
	request_type == "shell"
	common.is_agent
}

deny contains msg if {
	request_type == "subsystem"
	name := object.get(input.request.ssh, "subsystem", "?")
	msg := concat("", ["ssh subsystem '", format_name(name), "' is not allowed"])
}

format_name(n) := n if {
	is_string(n)
} else := "?"

deny contains "port forwarding is not allowed" if request_type == "port_forward"

deny contains "X11 forwarding is not allowed" if request_type == "x11"

deny contains "agent forwarding is not allowed" if request_type == "agent_forward"

# ---- allow ------------------------------------------------------------------------------------------

allow contains msg if {
	agent_allowed
	count(approval_matches) == 0
	msg := concat("", ["read-only command '", program, "' is allowed for agents"])
}

allow contains "people may run commands" if {
	request_type == "exec"
	common.is_human
	count(words) > 0
	count(approval_matches) == 0
}

allow contains "people may open an interactive shell" if {
	request_type == "shell"
	common.is_human
}

# ---- audit ------------------------------------------------------------------------------------------

default read_only := false

read_only if {
	agent_allowed
	count(approval_matches) == 0
}

mask_columns := set()

mask_fields := set()
