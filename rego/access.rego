# Who may write: stage, task risk, user role and task scope checks for write and destructive
# calls. write_denial is the first failing precondition (undefined when all pass).
package warden

import rego.v1

write_denial := "high-risk task: writes are not allowed" if {
	request_kind == "write"
	input.task.risk == "high"
} else := "high-risk task: destructive calls are not allowed" if {
	request_kind == "destructive"
	input.task.risk == "high"
} else := "writes are allowed only in stage execute" if {
	request_kind in {"write", "destructive"}
	input.task.stage != "execute"
} else := concat("", ["role required for writes: one of ", concat(", ", data.warden.roles.write)]) if {
	request_kind == "write"
	not has_write_role
} else := concat("", ["role required for destructive calls: one of ", concat(", ", data.warden.roles.destructive)]) if {
	request_kind == "destructive"
	not has_destructive_role
} else := concat("", ["missing scope ", write_scope]) if {
	request_kind in {"write", "destructive"}
	not has_write_scope
}

# Positive helper rules, negated above (see the note in decision.rego).
has_write_role if {
	some role in input.task.user.roles
	role in data.warden.roles.write
}

has_destructive_role if {
	some role in input.task.user.roles
	role in data.warden.roles.destructive
}

has_write_scope if write_scope in task_scopes

task_scopes := {s | some s in input.task.scopes; is_string(s)}

write_scope := concat(":", [input.request.upstream, "write"])
