# Warden example policy: entrypoint data.warden.decision (built with `opa build -t wasm`).
#
# The result is ALWAYS exactly one object:
#   {decision: "allow"|"deny"|"step_up", reason, lane, risk, headers, approvers}
# built by a single `else` chain (first match wins), so it can never raise a conflict error.
#
# Request classes (classify.rego):
#   read        github GET/HEAD; MCP (both eras) initialize, ping, server/discover, the list,
#               read, get, subscribe and completion methods, logging/setLevel, tasks/*, client
#               notifications, client answers to server requests, the event-stream GET, the
#               session DELETE; tools/call of search_*, get_*, list_*, read_*        risk low
#   write       github POST/PUT/PATCH; MCP tools/call of create_*, update_*, write_*,
#               comment_*                                                            risk medium
#   destructive github DELETE, github PUT .../merge; MCP tools/call of delete_*, drop_*,
#               force_push                                                           risk high
#   anything else (unknown upstream, HTTP method, MCP method or tool) is unclassified -> deny.
#
# Decision chain (first matching row wins):
#   1  no input.task                                   deny  "no task"
#   2  data.warden tunables missing/malformed          deny  "policy data missing"
#   3  task stage "done"                               deny  "task is done"
#   4  task stage not plan/execute/review              deny  "unknown task stage"
#   5  task risk not low/medium/high                   deny  "unknown task risk"
#   6  request unclassified                            deny  "unknown upstream" | "unknown method" | ...
#   6b MCP tools/call (or listing) of a tool whose definition changed since pinned
#                                                      deny  "tool definition changed since it was pinned"
#   7  usage.calls >= limits.max_calls_per_task        deny  "call cap reached: max_calls_per_task"
#   8  usage.stage_calls >= limits.max_calls_per_stage deny  "call cap reached: max_calls_per_stage"
#   9  read                                            allow lane "read"
#  10  write/destructive, task risk high               deny  (high-risk tasks never write)
#  11  write/destructive, stage != execute             deny
#  12  write without a role in roles.write,
#      destructive without a role in roles.destructive deny
#  13  write/destructive without scope "<upstream>:write" deny
#  14  write                                           allow lane "write"
#  15  destructive with input.approval                 allow lane "escalation"
#  16  destructive                                     step_up lane "escalation",
#                                                      approvers data.warden.approvers.destructive
#
# allow answers carry headers {"x-warden-stage": <stage>}; deny and step_up carry {}.
# lane is "" on deny. risk is the request class's risk ("high" when unclassified).
# Tunables live in data.json under data.warden (limits, roles, approvers, mcp, tool_pins).
# A tools/list result is filtered by asking once per tool with input.mcp.kind "listing": a tool
# that this chain denies is hidden from the agent.
package warden

import rego.v1

default decision := {
	"decision": "deny",
	"reason": "no rule matched",
	"lane": "",
	"risk": "high",
	"headers": {},
	"approvers": [],
}

decision := deny("no task") if {
	not has_task
} else := deny("policy data missing") if {
	not data_ok
} else := deny("task is done") if {
	input.task.stage == "done"
} else := deny("unknown task stage") if {
	not stage_known
} else := deny("unknown task risk") if {
	not risk_known
} else := deny(unknown_reason) if {
	not request_kind
} else := deny("tool definition changed since it was pinned") if {
	tool_changed
} else := deny("call cap reached: max_calls_per_task") if {
	task_cap_reached
} else := deny("call cap reached: max_calls_per_stage") if {
	stage_cap_reached
} else := allow("read", "read access") if {
	request_kind == "read"
} else := deny(reason) if {
	reason := write_denial
} else := allow("write", "write access") if {
	request_kind == "write"
} else := allow("escalation", "destructive call approved") if {
	request_kind == "destructive"
	is_object(input.approval)
} else := step_up("destructive call needs approval") if {
	request_kind == "destructive"
}

# Helper rules instead of `not <expr>` on possibly undefined refs: `not f(input.x)` and
# `not input.x in s` are NOT true when input.x is undefined, so negate a named rule instead.
has_task if is_object(input.task)

stage_known if known_stage(input.task.stage)

risk_known if known_risk(input.task.risk)

known_stage("plan")

known_stage("execute")

known_stage("review")

known_stage("done")

known_risk("low")

known_risk("medium")

known_risk("high")

deny(reason) := {
	"decision": "deny",
	"reason": reason,
	"lane": "",
	"risk": request_risk,
	"headers": {},
	"approvers": [],
}

allow(lane, reason) := {
	"decision": "allow",
	"reason": reason,
	"lane": lane,
	"risk": request_risk,
	"headers": {"x-warden-stage": input.task.stage},
	"approvers": [],
}

step_up(reason) := {
	"decision": "step_up",
	"reason": reason,
	"lane": "escalation",
	"risk": request_risk,
	"headers": {},
	"approvers": data.warden.approvers.destructive,
}
