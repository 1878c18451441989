# Tests of the MCP message kinds of both protocol eras (2025-11-25 and 2026-07-28): every method of
# the client-to-server method set is classified, client answers, event streams and session ends
# are reads, tools/list listings follow tools/call, and a changed tool definition is denied.
package warden_test

import data.warden
import rego.v1

mcp_kind(kind, m) := object.union(m, {"kind": kind})

http(inp, method) := object.union(inp, {"request": {"method": method}})

test_every_client_request_method_of_both_eras_is_read if {
	every m in [
		"initialize", "ping", "server/discover", "tools/list", "resources/list",
		"resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe",
		"subscriptions/listen", "prompts/list", "prompts/get", "completion/complete",
		"logging/setLevel", "tasks/get", "tasks/list", "tasks/result", "tasks/cancel",
	] {
		r := warden.decision with input as mcp_input(mcp_kind("request", mcp(m)), base_task)
		r.decision == "allow"
		r.lane == "read"
	}
}

test_client_notifications_are_read if {
	every m in ["notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed"] {
		r := warden.decision with input as mcp_input(mcp_kind("notification", {"method": m}), base_task)
		r.decision == "allow"
	}
}

test_a_notification_kind_outside_notifications_is_unknown if {
	r := warden.decision with input as mcp_input(mcp_kind("notification", {"method": "initialize"}), base_task)
	denied(r, "unknown MCP method")
}

test_client_responses_to_server_requests_are_read if {
	every answered in ["sampling/createMessage", "elicitation/create", "roots/list", "ping"] {
		r := warden.decision with input as mcp_input(mcp_kind("response", {"method": answered, "id": 3}), base_task)
		r.decision == "allow"
		r.lane == "read"
	}

	# Also when Warden did not relay the server request and cannot name the method.
	r2 := warden.decision with input as mcp_input({"kind": "response", "id": 3}, base_task)
	r2.decision == "allow"
}

test_event_stream_get_and_session_delete_are_read if {
	r1 := warden.decision with input as http(mcp_input({"kind": "stream"}, base_task), "GET")
	r1.decision == "allow"
	r2 := warden.decision with input as http(mcp_input({"kind": "session_end", "session_id": "s1"}, base_task), "DELETE")
	r2.decision == "allow"
}

test_kinds_travel_on_their_http_method if {
	every pair in [
		[{"kind": "stream"}, "POST"],
		[{"kind": "session_end"}, "GET"],
		[{"kind": "response", "id": 1}, "GET"],
		[{"kind": "request", "method": "ping", "id": 1}, "DELETE"],
	] {
		r := warden.decision with input as http(mcp_input(pair[0], base_task), pair[1])
		denied(r, "unknown method")
	}
}

test_unknown_kind_denied if {
	r := warden.decision with input as mcp_input(mcp_kind("batch", mcp("ping")), base_task)
	denied(r, "unknown MCP message")
}

test_listing_follows_the_tool_call_decision if {
	read := warden.decision with input as mcp_input(mcp_kind("listing", {"method": "tools/call", "tool": "search_code"}), base_task)
	read.decision == "allow"
	unknown := warden.decision with input as mcp_input(mcp_kind("listing", {"method": "tools/call", "tool": "run_shell"}), base_task)
	denied(unknown, "unknown MCP tool")
	destructive := warden.decision with input as mcp_input(mcp_kind("listing", {"method": "tools/call", "tool": "delete_repo"}), maintainer_task({}))
	destructive.decision == "step_up"
}

changed_call(tool) := object.union(mcp_call(tool), {"kind": "request", "tool_definition": {"digest": "sha256:b", "pinned": "sha256:a", "status": "changed"}})

test_changed_tool_definition_denied if {
	r := warden.decision with input as mcp_input(changed_call("search_code"), base_task)
	denied(r, "tool definition changed since it was pinned")

	# An approval does not cover a changed definition either.
	r2 := warden.decision with input as with_approval(mcp_input(changed_call("delete_repo"), maintainer_task({})))
	denied(r2, "tool definition changed since it was pinned")

	# Nor is a changed tool listed.
	r3 := warden.decision with input as mcp_input(object.union(changed_call("search_code"), {"kind": "listing"}), base_task)
	denied(r3, "tool definition changed since it was pinned")
}

test_pinned_and_unpinned_tools_pass if {
	every status in ["pinned", "unpinned"] {
		m := object.union(mcp_call("search_code"), {"kind": "request", "tool_definition": {"digest": "sha256:a", "status": status}})
		r := warden.decision with input as mcp_input(m, base_task)
		r.decision == "allow"
	}
}
