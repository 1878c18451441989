# Shared fixtures for the policy tests (excluded from the bundle by --ignore '*_test.rego').
package warden_test

import rego.v1

base_task := {
	"id": "task-1",
	"stage": "execute",
	"risk": "low",
	"user": {"id": "alice", "roles": ["developer"]},
	"scopes": ["github:read", "github:write", "tools:read", "tools:write"],
	"expires_at": "2030-01-01T00:00:00Z",
	"usage": {"calls": 3, "stage_calls": 1},
}

# task(overrides): base_task merged with overrides (object.union merges nested objects
# recursively: to drop a nested key, use object.remove).
task(overrides) := object.union(base_task, overrides)

maintainer_task(overrides) := object.union(
	object.union(base_task, {"user": {"id": "bob", "roles": ["maintainer"]}}),
	overrides,
)

gh(method, path) := {
	"id": "req-1",
	"method": method,
	"upstream": "github",
	"path": path,
	"query": {},
	"headers": {"accept": "application/json"},
	"body": null,
	"body_digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"content_type": "application/json",
	"size": 0,
}

tools_req := {
	"id": "req-2",
	"method": "POST",
	"upstream": "tools",
	"path": "/mcp",
	"query": {},
	"headers": {"content-type": "application/json"},
	"body": {},
	"body_digest": "sha256:00",
	"content_type": "application/json",
	"size": 2,
}

mcp(method) := {"method": method, "id": 7}

mcp_call(tool) := {"method": "tools/call", "id": 7, "tool": tool, "arguments": {"q": "x"}}

agent := {"id": "agent-1", "issuer": "https://issuer.example", "claims": {"sub": "agent-1"}}

now := {"now_ns": 1767225600000000000, "rfc3339": "2026-01-01T00:00:00Z"}

# Full inputs.
github_input(method, path, t) := {"request": gh(method, path), "agent": agent, "task": t, "time": now}

mcp_input(m, t) := {"request": tools_req, "mcp": m, "agent": agent, "task": t, "time": now}

approval := {"id": "appr-1", "approver": "carol", "approved_at": "2026-01-01T00:00:00Z"}

with_approval(inp) := object.union(inp, {"approval": approval})

result_keys := {"decision", "reason", "lane", "risk", "headers", "approvers"}

# well_formed(r): the contract shape, checked on every result in the tests.
well_formed(r) if {
	is_object(r)
	{k | some k, _ in r} == result_keys
	r.decision in {"allow", "deny", "step_up"}
	is_string(r.reason)
	r.reason != ""
	is_string(r.lane)
	r.risk in {"low", "medium", "high"}
	is_object(r.headers)
	is_array(r.approvers)
	every a in r.approvers {
		is_string(a)
	}
}

allowed(r, lane, risk) if {
	well_formed(r)
	r.decision == "allow"
	r.lane == lane
	r.risk == risk
	r.headers["x-warden-stage"]
	r.approvers == []
}

denied(r, reason) if {
	well_formed(r)
	r.decision == "deny"
	r.reason == reason
	r.lane == ""
	r.headers == {}
	r.approvers == []
}

# denied_prefix(r, p): denied with a reason starting with p.
denied_prefix(r, p) if {
	well_formed(r)
	r.decision == "deny"
	startswith(r.reason, p)
	r.lane == ""
	r.headers == {}
}
