# Input builders shared by the policy tests. A *_test.rego file: loaded by `opa test`, never built.
package gatehouse.testdata

agent := {
	"sub": "agent-7",
	"email": null,
	"groups": ["engineering"],
	"agent": true,
	"issuer": "https://idp.example.test",
	"client_id": "coding-agent",
}

human := {
	"sub": "alice",
	"email": "alice@example.test",
	"groups": ["engineering"],
	"agent": false,
	"issuer": "https://idp.example.test",
	"client_id": "gatehouse-cli",
}

pii_reader := object.union(human, {"sub": "bob", "groups": ["engineering", "pii-readers"]})

demo_pg := {"name": "demo-pg", "protocol": "postgres", "tags": {"env": "demo"}}

analytics_pg := {"name": "analytics-pg", "protocol": "postgres", "tags": {}}

demo_ssh := {"name": "demo-ssh", "protocol": "ssh", "tags": {}}

session := {"id": "sess-1", "node": "node-a", "client_addr": "127.0.0.1", "started_at": 1767225600}

# Thursday 2026-01-01 00:05:00 UTC
now := {"unix": 1767225900, "weekday": "Thursday", "hour": 0}

stmt(type, text, read_only) := {
	"type": type,
	"text": text,
	"reads": [],
	"writes": [],
	"has_where": contains(lower(text), " where "),
	"ddl": ddl_type(type),
	"functions": [],
	"read_only": read_only,
	"object_type": null,
}

# Like the analyzer: CREATE/ALTER/DROP/TRUNCATE statements are flagged ddl (GRANT/REVOKE are not).
default ddl_type(_) := false

ddl_type(type) if {
	some p in {"alter", "create", "drop", "truncate"}
	startswith(type, p)
}

select_customers := stmt("select", "SELECT email FROM customers WHERE id = 1", true)

update_with_where := stmt("update", "UPDATE orders SET status = 'x' WHERE id = 1", false)

delete_without_where := stmt("delete", "DELETE FROM orders", false)

create_table := stmt("create_table", "CREATE TABLE t (id int)", false)

sql_input(identity, connection, statements) := {
	"identity": identity,
	"connection": connection,
	"session": session,
	"request": {
		"kind": "sql",
		"fingerprint": "fp-1",
		"sql": {
			"text": concat("; ", [s.text | some s in statements]),
			"statements": statements,
			"parse_error": null,
		},
	},
	"time": now,
	"grants": [],
}

ssh_exec(identity, command) := ssh_input(identity, {"type": "exec", "command": command, "pty": false})

ssh_input(identity, ssh) := {
	"identity": identity,
	"connection": demo_ssh,
	"session": session,
	"request": {"kind": "ssh", "fingerprint": "fp-ssh", "ssh": ssh},
	"time": now,
	"grants": [],
}

# An earlier approval of the same request ("fp-1") by the dba group, valid for one more hour.
dba_grant(sub) := {
	"id": "grant-1",
	"sub": sub,
	"connection": "demo-pg",
	"fingerprint": "fp-1",
	"groups": ["dba"],
	"approvals": 1,
	"approved_at": now.unix - 60,
	"expires_at": now.unix + 3600,
}

no_approval := {"required": false, "groups": [], "approvals_needed": 0, "ttl_seconds": 0, "reuse_seconds": 0}

demo_mcp := {"name": "demo-mcp", "protocol": "mcp", "tags": {}}

# An MCP message input (phase "call" unless given).
mcp_msg(identity, detail) := {
	"identity": identity,
	"connection": demo_mcp,
	"session": session,
	"request": {"kind": "mcp", "fingerprint": "f-mcp", "mcp": object.union(
		{
			"message_type": "request", "method": "", "tool": null, "resource": null, "arguments": null,
			"arguments_digest": "", "server": "demo-mcp", "tool_changed": false, "phase": "call",
			"protocol_version": "2026-07-28",
		},
		detail,
	)},
	"time": now,
	"grants": [],
}

mcp_call(identity, tool, args) := mcp_msg(identity, {"method": "tools/call", "tool": tool, "arguments": args})
