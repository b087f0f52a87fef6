package gatehouse.ssh_test

import data.gatehouse.main.decision
import data.gatehouse.testdata as t

oncall_approval := {"required": true, "groups": ["oncall"], "approvals_needed": 1, "ttl_seconds": 900, "reuse_seconds": 0}

metachar_reason := "agent commands may not contain shell metacharacters, quotes or control characters (; & | ` $ ( ) < > \\ ' \" { } ! # newline)"

test_agent_read_only_commands_allowed if {
	every cmd in [
		"uname -a",
		"whoami",
		"uptime",
		"df -h",
		"ps aux",
		"ls -la /var/log",
		"id",
		"free -m",
		"cat /var/log/syslog",
		"tail -n 100 /var/log/nginx/access.log",
		"head -n20 ~/logs/app.log",
		"tail\t-f\t/var/log/syslog",
		"cat /var/log/*.log",
	] {
		d := decision with input as t.ssh_exec(t.agent, cmd)
		d.allow == true
		d.audit == "batched"
		d.approval == t.no_approval
		d.mask.detectors == ["card", "email", "national_id", "phone", "secret"]
	}
}

test_agent_allowed_reason_names_the_command if {
	d := decision with input as t.ssh_exec(t.agent, "uname -a")
	d.reasons == ["read-only command 'uname' is allowed for agents"]
}

test_agent_reads_outside_log_dirs_denied if {
	every cmd in [
		"cat /etc/passwd",
		"cat /var/log/../../etc/shadow",
		"tail -n 5 /var/logs/x",
		"head ~/.ssh/id_ed25519",
		"cat /var/log/syslog /etc/shadow",
		"cat ~root/logs/x",
	] {
		d := decision with input as t.ssh_exec(t.agent, cmd)
		d.allow == false
		d.reasons == [concat("", ["command '", split(cmd, " ")[0], "' is not allowed for agents with these arguments"])]
	}
}

test_agent_metacharacters_denied if {
	every cmd in [
		"ls; rm -rf /",
		"ls && reboot",
		"ls || reboot",
		"ps aux | grep x",
		"cat `echo /etc/passwd`",
		"cat $(echo /etc/passwd)",
		"cat $HOME/.ssh/id_rsa",
		"cat /var/log/{syslog,/etc/passwd}",
		"cat /var/log/x > /tmp/y",
		"cat < /etc/passwd",
		"ls\nreboot",
		"ls\rreboot",
		"cat '/etc/passwd'",
		"cat \"/etc/passwd\"",
		"cat /var/log/x\\ y",
		"uptime &",
	] {
		d := decision with input as t.ssh_exec(t.agent, cmd)
		d.allow == false
		d.reasons == [metachar_reason]
		d.approval == t.no_approval
	}
}

test_agent_unknown_command_denied if {
	d := decision with input as t.ssh_exec(t.agent, "vim /etc/hosts")
	d.allow == false
	d.reasons == ["command 'vim' is not in the agent allowlist"]
	d.audit == "sync"
}

test_agent_allowlist_is_by_bare_name if {
	d := decision with input as t.ssh_exec(t.agent, "/tmp/cat /var/log/syslog")
	d.allow == false
	d.reasons == ["command '/tmp/cat' is not in the agent allowlist"]
}

test_agent_command_without_arguments_rejects_arguments if {
	d := decision with input as t.ssh_exec(t.agent, "whoami --help")
	d.allow == false
	d.reasons == ["command 'whoami' is not allowed for agents with these arguments"]
}

test_dangerous_commands_need_oncall_approval_for_agents if {
	every cmd in ["rm -rf /tmp/cache", "/bin/rm x", "systemctl restart nginx", "kill 123", "shutdown -h now", "reboot"] {
		d := decision with input as t.ssh_exec(t.agent, cmd)
		d.allow == false
		d.approval == oncall_approval
		d.audit == "sync"
	}
}

test_approval_reason_names_the_command if {
	d := decision with input as t.ssh_exec(t.agent, "/usr/bin/systemctl restart nginx")
	d.reasons == ["command systemctl requires approval by oncall"]
}

test_dangerous_commands_need_oncall_approval_for_humans if {
	every cmd in ["rm -rf /tmp/cache", "sudo reboot", "ls; systemctl stop nginx", "pgrep x | xargs kill"] {
		d := decision with input as t.ssh_exec(t.human, cmd)
		d.allow == false
		d.approval == oncall_approval
	}
}

test_human_reason_lists_every_matched_command if {
	d := decision with input as t.ssh_exec(t.human, "kill 1 && reboot")
	d.reasons == ["command kill, reboot requires approval by oncall"]
}

test_agent_metacharacters_denied_even_with_approval_command if {
	d := decision with input as t.ssh_exec(t.agent, "rm x; reboot")
	d.allow == false
	d.reasons == [metachar_reason]
	d.approval == t.no_approval
}

test_humans_may_run_commands if {
	d := decision with input as t.ssh_exec(t.human, "ls -la | grep foo")
	d.allow == true
	d.reasons == ["people may run commands"]
	d.audit == "sync"
	d.mask == {"columns": [], "fields": [], "detectors": []}
}

test_empty_command_denied if {
	every who in [t.agent, t.human] {
		d := decision with input as t.ssh_exec(who, " \t ")
		d.allow == false
		d.reasons == ["empty command"]
	}
}

test_shell_only_for_humans if {
	shell := {"type": "shell", "pty": true}
	h := decision with input as t.ssh_input(t.human, shell)
	h.allow == true
	h.reasons == ["people may open an interactive shell"]
	h.audit == "sync"
	a := decision with input as t.ssh_input(t.agent, shell)
	a.allow == false
	a.reasons == ["interactive shells are only for people, not agents"]
}

test_forwarding_and_subsystems_denied if {
	cases := [
		[{"type": "port_forward", "direction": "local", "host": "10.0.0.5", "port": 5432}, "port forwarding is not allowed"],
		[{"type": "x11"}, "X11 forwarding is not allowed"],
		[{"type": "agent_forward"}, "agent forwarding is not allowed"],
		[{"type": "subsystem", "subsystem": "sftp"}, "ssh subsystem 'sftp' is not allowed"],
		[{"type": "tun"}, "unsupported ssh request type 'tun'"],
		[{"command": "ls"}, "ssh request type is missing"],
	]
	every c in cases {
		every who in [t.agent, t.human] {
			d := decision with input as t.ssh_input(who, c[0])
			d.allow == false
			d.reasons == [c[1]]
		}
	}
}

test_missing_ssh_object_denied if {
	d := decision with input as json.remove(t.ssh_exec(t.human, "ls"), ["request/ssh"])
	d.allow == false
	d.reasons == ["request.ssh is missing"]
}

test_missing_approval_rule_denies if {
	d := decision with input as t.ssh_exec(t.human, "reboot")
		with data.gatehouse.config.ssh.approval as null
	d.allow == false
	d.reasons == ["command requires approval but no ssh approval rule is configured"]
}

oncall_grant := {
	"id": "grant-ssh",
	"sub": "alice",
	"connection": "demo-ssh",
	"fingerprint": "fp-ssh",
	"groups": ["oncall"],
	"approvals": 1,
	"approved_at": t.now.unix - 60,
	"expires_at": t.now.unix + 3600,
}

test_grant_reused_and_named_for_ssh if {
	inp := object.union(t.ssh_exec(t.human, "systemctl restart nginx"), {"grants": [oncall_grant]})
	d := decision with input as inp
	d.allow == true
	d.grants_used == ["grant-ssh"]
	d.reasons == ["approved earlier (grant grant-ssh): command systemctl requires approval by oncall"]
}

test_grant_not_named_when_ssh_allowed_for_another_reason if {
	inp := object.union(t.ssh_exec(t.human, "uname -a"), {"grants": [oncall_grant]})
	d := decision with input as inp
	d.allow == true
	d.grants_used == []
}
