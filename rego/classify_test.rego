# Tests of request classification and of denials of requests the policy does not understand.
package warden_test

import data.warden
import rego.v1

test_kinds_github if {
	warden.request_kind == "read" with input as github_input("GET", "/x", base_task)
	warden.request_kind == "read" with input as github_input("HEAD", "/x", base_task)
	warden.request_kind == "write" with input as github_input("POST", "/x", base_task)
	warden.request_kind == "write" with input as github_input("PUT", "/repos/a/b/contents/f", base_task)
	warden.request_kind == "write" with input as github_input("PATCH", "/x", base_task)
	warden.request_kind == "destructive" with input as github_input("DELETE", "/x", base_task)
	warden.request_kind == "destructive" with input as github_input("PUT", "/repos/a/b/pulls/2/MERGE", base_task)
}

test_kinds_github_methods_case_folded if {
	warden.request_kind == "read" with input as github_input("get", "/x", base_task)
	warden.request_kind == "read" with input as github_input("Head", "/x", base_task)
	warden.request_kind == "write" with input as github_input("patch", "/x", base_task)
	warden.request_kind == "destructive" with input as github_input("put", "/repos/a/b/pulls/2/merge/", base_task)
	not warden.request_kind with input as github_input(["GET"], "/x", base_task)
	not warden.request_kind with input as github_input("GETS", "/x", base_task)
}

test_kinds_mcp if {
	warden.request_kind == "read" with input as mcp_input(mcp_call("search_code"), base_task)
	warden.request_kind == "write" with input as mcp_input(mcp_call("comment_issue"), base_task)
	warden.request_kind == "destructive" with input as mcp_input(mcp_call("drop_index"), base_task)
}

test_strictest_class_wins_for_overlapping_patterns if {
	warden.request_kind == "destructive" with input as mcp_input(mcp_call("get_x"), base_task)
		with data.warden.mcp.destructive_tool_prefixes as ["get_"]
}

test_risk_follows_kind if {
	warden.request_risk == "low" with input as github_input("GET", "/x", base_task)
	warden.request_risk == "medium" with input as github_input("POST", "/x", base_task)
	warden.request_risk == "high" with input as github_input("DELETE", "/x", base_task)
	warden.request_risk == "high" with input as github_input("TRACE", "/x", base_task)
}

test_unknown_upstream_denied if {
	inp := object.union(github_input("GET", "/x", base_task), {"request": {"upstream": "slack"}})
	r := warden.decision with input as inp
	denied(r, "unknown upstream")
	r.risk == "high"
}

test_missing_upstream_denied if {
	inp := object.union(github_input("GET", "/x", base_task), {"request": {"upstream": null}})
	r := warden.decision with input as inp
	denied(r, "unknown upstream")
}

test_missing_request_denied if {
	r := warden.decision with input as {"task": base_task, "time": now}
	denied(r, "unknown upstream")
}

test_unknown_github_methods_denied if {
	every method in ["OPTIONS", "TRACE", "CONNECT", "PROPFIND", ""] {
		r := warden.decision with input as github_input(method, "/repos/acme/app", base_task)
		denied(r, "unknown method")
	}
}

test_non_string_method_denied if {
	r := warden.decision with input as github_input(7, "/repos/acme/app", base_task)
	denied(r, "unknown method")
}

test_tools_non_post_denied if {
	every method in ["GET", "DELETE", "PUT"] {
		inp := object.union(mcp_input(mcp("tools/list"), base_task), {"request": {"method": method}})
		r := warden.decision with input as inp
		denied(r, "unknown method")
	}
}

test_tools_without_jsonrpc_denied if {
	r := warden.decision with input as {"request": tools_req, "task": base_task, "time": now}
	denied(r, "not an MCP JSON-RPC request")
}

test_unknown_mcp_methods_denied if {
	every m in ["sampling/createMessage", "roots/list", "elicitation/create", "tools/run", "resources/write", ""] {
		r := warden.decision with input as mcp_input(mcp(m), base_task)
		denied(r, "unknown MCP method")
	}
}

test_non_string_mcp_method_denied if {
	r := warden.decision with input as mcp_input({"method": 42, "id": 1}, base_task)
	denied(r, "unknown MCP method")
}

test_unknown_mcp_tools_denied if {
	every tool in ["run_shell", "exec", "Search_code", "searchcode", ""] {
		r := warden.decision with input as mcp_input(mcp_call(tool), maintainer_task({}))
		denied(r, "unknown MCP tool")
		r.risk == "high"
	}
}

test_missing_or_non_string_tool_denied if {
	r1 := warden.decision with input as mcp_input({"method": "tools/call", "id": 1}, base_task)
	denied(r1, "unknown MCP tool")
	r2 := warden.decision with input as mcp_input({"method": "tools/call", "id": 1, "tool": ["search_x"]}, base_task)
	denied(r2, "unknown MCP tool")
}

test_unknown_request_denied_before_caps if {
	t := task({"usage": {"calls": 10000, "stage_calls": 10000}})
	r := warden.decision with input as github_input("TRACE", "/x", t)
	denied(r, "unknown method")
}
