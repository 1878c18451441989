# Per-task and per-stage call caps (input.task.usage counts calls already forwarded for the
# task / for its current stage), and the sanity check of the tunables in data.json.
# An absent count is 0; a count that is not a number counts as over the cap (fail closed).
package warden

import rego.v1

task_calls := n if {
	n := input.task.usage.calls
} else := 0

stage_calls := n if {
	n := input.task.usage.stage_calls
} else := 0

task_cap_reached if not is_number(task_calls)

task_cap_reached if task_calls >= data.warden.limits.max_calls_per_task

stage_cap_reached if not is_number(stage_calls)

stage_cap_reached if stage_calls >= data.warden.limits.max_calls_per_stage

data_ok if {
	l := data.warden.limits
	is_number(l.max_calls_per_task)
	is_number(l.max_calls_per_stage)
	r := data.warden.roles
	is_array(r.write)
	is_array(r.destructive)
	is_array(data.warden.approvers.destructive)
	m := data.warden.mcp
	is_array(m.read_methods)
	is_string(m.read_notification_prefix)
	is_array(m.read_tool_prefixes)
	is_array(m.write_tool_prefixes)
	is_array(m.destructive_tool_prefixes)
	is_array(m.destructive_tools)
}
