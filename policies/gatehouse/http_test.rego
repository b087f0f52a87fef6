package gatehouse.http_test

import data.gatehouse.main

http_input(method, path, agent, groups) := {
	"identity": {"sub": "u1", "email": "u1@example.com", "groups": groups, "agent": agent, "issuer": "i", "client_id": null},
	"connection": {"name": "demo-http", "protocol": "http", "tags": {}},
	"session": {"id": "s", "node": "n", "client_addr": "127.0.0.1", "started_at": 0},
	"request": {"kind": "http", "fingerprint": "f", "http": {"method": method, "path": path, "segments": [], "query": {}, "headers": {}, "content_type": "", "json": null, "body_bytes": 0}},
	"time": {"unix": 1, "weekday": "Monday", "hour": 1},
	"grants": [],
}

test_agent_get_allowed_and_masked if {
	d := main.decision with input as http_input("GET", "/customers", true, [])
	d.allow
	"customers[*].email" in d.mask.fields
	count(d.mask.detectors) > 0
}

test_agent_delete_denied if {
	d := main.decision with input as http_input("DELETE", "/customers/3", true, [])
	not d.allow
	not d.approval.required
	d.reasons == ["agents may only read through HTTP (GET, HEAD, OPTIONS), not DELETE"]
}

test_person_delete_needs_approval if {
	d := main.decision with input as http_input("DELETE", "/customers/3", false, [])
	not d.allow
	d.approval.required
	d.approval.groups == ["oncall"]
}

test_pii_reader_unmasked if {
	d := main.decision with input as http_input("GET", "/customers", false, ["pii-readers"])
	d.allow
	d.mask.fields == []
}

test_person_configured_write_allowed if {
	d := main.decision with input as http_input("POST", "/upload", false, [])
	d.allow
}

test_agent_configured_write_still_denied if {
	d := main.decision with input as http_input("POST", "/upload", true, [])
	not d.allow
}
