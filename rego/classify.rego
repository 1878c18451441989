# Request classification: request_kind is "read", "write" or "destructive", or undefined when
# the request is not understood (unknown upstream, HTTP method, MCP method or tool), in which
# case unknown_reason says why. Every rule here is a single else chain: one value, no conflicts.
package warden

import rego.v1

default request_risk := "high"

request_risk := "low" if {
	request_kind == "read"
} else := "medium" if {
	request_kind == "write"
}

http_method := upper(input.request.method) if is_string(input.request.method)

request_kind := k if {
	input.request.upstream == "github"
	k := github_kind
} else := k if {
	input.request.upstream == "tools"
	k := mcp_kind
}

# --- github: a REST API -------------------------------------------------------------------

github_path := lower(trim_right(input.request.path, "/")) if is_string(input.request.path)

github_kind := "destructive" if {
	http_method == "DELETE"
} else := "destructive" if {
	http_method == "PUT"
	endswith(github_path, "/merge")
} else := "read" if {
	http_method == "GET"
} else := "write" if {
	http_method == "POST"
} else := "write" if {
	http_method == "PATCH"
} else := "write" if {
	http_method == "PUT"
} else := "read" if {
	http_method == "HEAD"
}

# --- tools: an MCP server (JSON-RPC 2.0 over Streamable HTTP, MCP 2025-11-25 and 2026-07-28) ---
#
# input.mcp.kind says what the HTTP request carries (absent: a request, as older Warden sent):
#   request       a POSTed JSON-RPC request: classified by its method (tools/call by its tool)
#   listing       one tool of a tools/list result, asked as method tools/call: hidden when denied
#   notification  a POSTed client notification (notifications/*)
#   response      the client's POSTed answer to a server request (sampling, elicitation, roots, ping)
#   stream        the GET that opens the server-to-client event stream (2025-11-25)
#   session_end   the DELETE that ends a session (2025-11-25)

mcp_message := object.get(input.mcp, "kind", "request") if has_mcp

mcp_kind := k if {
	http_method == "POST"
	method_message(mcp_message)
	k := mcp_method_kind
} else := "read" if {
	http_method == "POST"
	mcp_message == "notification"
	is_string(input.mcp.method)
	startswith(input.mcp.method, data.warden.mcp.read_notification_prefix)
} else := "read" if {
	http_method == "POST"
	mcp_message == "response"
} else := "read" if {
	http_method == "GET"
	mcp_message == "stream"
} else := "read" if {
	http_method == "DELETE"
	mcp_message == "session_end"
}

# The messages classified by their JSON-RPC method.
method_message("request")

method_message("listing")

mcp_method_kind := k if {
	input.mcp.method == "tools/call"
	k := tool_kind
} else := "read" if {
	input.mcp.method in data.warden.mcp.read_methods
} else := "read" if {
	# A client that still sends a notification in the request form (no kind) is read.
	not input.mcp.kind
	is_string(input.mcp.method)
	startswith(input.mcp.method, data.warden.mcp.read_notification_prefix)
}

# A tool whose definition differs from its pin (bundle data or first seen): a rug pull until an
# operator reviews it and re-pins it (POST /v1/tools/{upstream}/{tool}/pin).
tool_changed if {
	input.mcp.method == "tools/call"
	input.mcp.tool_definition.status == "changed"
}

mcp_tool := input.mcp.tool if is_string(input.mcp.tool)

# Most restrictive class first, so a tool matching several patterns gets the strictest one.
tool_kind := "destructive" if {
	mcp_tool in data.warden.mcp.destructive_tools
} else := "destructive" if {
	some p in data.warden.mcp.destructive_tool_prefixes
	startswith(mcp_tool, p)
} else := "write" if {
	some p in data.warden.mcp.write_tool_prefixes
	startswith(mcp_tool, p)
} else := "read" if {
	some p in data.warden.mcp.read_tool_prefixes
	startswith(mcp_tool, p)
}

# --- why a request is unclassified ----------------------------------------------------------

upstream_known if input.request.upstream in {"github", "tools"}

has_mcp if is_object(input.mcp)

default unknown_reason := "unknown request"

unknown_reason := "unknown upstream" if {
	not upstream_known
} else := "unknown method" if {
	input.request.upstream == "github"
} else := "unknown method" if {
	not http_method
} else := "not an MCP JSON-RPC request" if {
	not has_mcp
} else := "unknown MCP message" if {
	not mcp_message in {"request", "listing", "notification", "response", "stream", "session_end"}
} else := "unknown method" if {
	not mcp_method_matches
} else := "unknown MCP tool" if {
	input.mcp.method == "tools/call"
} else := "unknown MCP method"

# The HTTP method each kind of MCP message travels on.
mcp_method_matches if {
	mcp_message in {"request", "listing", "notification", "response"}
	http_method == "POST"
}

mcp_method_matches if {
	mcp_message == "stream"
	http_method == "GET"
}

mcp_method_matches if {
	mcp_message == "session_end"
	http_method == "DELETE"
}
