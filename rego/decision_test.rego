# Tests of the decision chain: no task, stages, reads, writes, destructive calls, approval.
package warden_test

import data.warden
import rego.v1

# --- no task / done / unknown stage or risk --------------------------------------------------

test_no_task_denies_reads if {
	r := warden.decision with input as {"request": gh("GET", "/repos/acme/app"), "agent": agent, "time": now}
	denied(r, "no task")
	r.risk == "low"
}

test_no_task_denies_writes if {
	r := warden.decision with input as {"request": gh("POST", "/repos/acme/app/issues")}
	denied(r, "no task")
}

test_empty_input_denies if {
	r := warden.decision with input as {}
	denied(r, "no task")
	r.risk == "high"
}

test_non_object_task_denies if {
	r := warden.decision with input as {"request": gh("GET", "/x"), "task": "task-1"}
	denied(r, "no task")
}

test_done_stage_denies_reads if {
	r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"stage": "done"}))
	denied(r, "task is done")
}

test_done_stage_denies_mcp_list if {
	r := warden.decision with input as mcp_input(mcp("tools/list"), task({"stage": "done"}))
	denied(r, "task is done")
}

test_done_stage_denies_approved_destructive if {
	inp := with_approval(github_input("DELETE", "/repos/acme/app", maintainer_task({"stage": "done"})))
	r := warden.decision with input as inp
	denied(r, "task is done")
}

test_unknown_stage_denies if {
	r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"stage": "deploy"}))
	denied(r, "unknown task stage")
}

test_missing_stage_denies if {
	r := warden.decision with input as github_input("GET", "/repos/acme/app", object.remove(base_task, ["stage"]))
	denied(r, "unknown task stage")
}

test_unknown_risk_denies if {
	r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"risk": "extreme"}))
	denied(r, "unknown task risk")
}

# Stage and risk match exactly: no case folding, no other types, no collections holding them.
test_stage_and_risk_match_exactly if {
	every stage in ["EXECUTE", "Execute", " execute", 1, true, null, ["execute"], {"execute": true}] {
		r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"stage": stage}))
		denied(r, "unknown task stage")
	}
	every risk in ["LOW", "Low", "low ", 0, false, null, ["low"], {"low": true}] {
		r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"risk": risk}))
		denied(r, "unknown task risk")
	}
	every risk in ["low", "medium", "high"] {
		r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"risk": risk}))
		allowed(r, "read", "low")
	}
}

# --- reads --------------------------------------------------------------------------------

test_github_get_allowed_in_every_live_stage if {
	every stage in ["plan", "execute", "review"] {
		r := warden.decision with input as github_input("GET", "/repos/acme/app/issues", task({"stage": stage}))
		allowed(r, "read", "low")
		r.headers == {"x-warden-stage": stage}
	}
}

test_github_head_allowed if {
	r := warden.decision with input as github_input("HEAD", "/repos/acme/app", task({"stage": "review"}))
	allowed(r, "read", "low")
}

test_lowercase_method_is_normalized if {
	r := warden.decision with input as github_input("get", "/repos/acme/app", task({}))
	allowed(r, "read", "low")
}

test_reads_allowed_for_high_risk_tasks if {
	r := warden.decision with input as github_input("GET", "/repos/acme/app", task({"risk": "high"}))
	allowed(r, "read", "low")
}

test_reads_need_no_role_or_scope if {
	t := task({"user": {"id": "eve", "roles": []}, "scopes": []})
	r := warden.decision with input as github_input("GET", "/repos/acme/app", t)
	allowed(r, "read", "low")
}

test_mcp_read_methods_allowed if {
	every m in ["initialize", "ping", "tools/list", "resources/list", "prompts/list"] {
		r := warden.decision with input as mcp_input(mcp(m), task({"stage": "plan"}))
		allowed(r, "read", "low")
	}
}

test_mcp_notifications_allowed if {
	every m in ["notifications/initialized", "notifications/cancelled"] {
		r := warden.decision with input as mcp_input(mcp(m), task({"stage": "review"}))
		allowed(r, "read", "low")
	}
}

test_mcp_read_tools_allowed_in_every_live_stage if {
	every stage in ["plan", "execute", "review"] {
		every tool in ["search_code", "get_issue", "list_files", "read_file"] {
			r := warden.decision with input as mcp_input(mcp_call(tool), task({"stage": stage}))
			allowed(r, "read", "low")
		}
	}
}

# --- writes -------------------------------------------------------------------------------

test_github_writes_allowed_in_execute if {
	every method in ["POST", "PUT", "PATCH"] {
		r := warden.decision with input as github_input(method, "/repos/acme/app/issues", task({}))
		allowed(r, "write", "medium")
		r.reason == "write access"
		r.headers == {"x-warden-stage": "execute"}
	}
}

test_writes_allowed_for_every_write_role if {
	every role in ["developer", "maintainer", "admin"] {
		t := task({"user": {"id": "u", "roles": ["viewer", role]}})
		r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", t)
		allowed(r, "write", "medium")
	}
}

test_writes_allowed_for_medium_risk if {
	r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", task({"risk": "medium"}))
	allowed(r, "write", "medium")
}

test_writes_denied_outside_execute if {
	every stage in ["plan", "review"] {
		r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", task({"stage": stage}))
		denied(r, "writes are allowed only in stage execute")
		r.risk == "medium"
	}
}

test_writes_denied_for_high_risk if {
	r := warden.decision with input as github_input("PATCH", "/repos/acme/app/issues/1", task({"risk": "high"}))
	denied(r, "high-risk task: writes are not allowed")
}

test_high_risk_reported_before_stage if {
	r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", task({"risk": "high", "stage": "plan"}))
	denied(r, "high-risk task: writes are not allowed")
}

test_writes_denied_without_role if {
	every roles in [[], ["viewer"], ["Developer"]] {
		t := task({"user": {"id": "u", "roles": roles}})
		r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", t)
		denied(r, "role required for writes: one of developer, maintainer, admin")
	}
}

test_writes_denied_without_roles_field if {
	t := object.union(object.remove(base_task, ["user"]), {"user": {"id": "u"}})
	r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", t)
	denied_prefix(r, "role required for writes")
	r2 := warden.decision with input as github_input("POST", "/x", object.remove(base_task, ["user"]))
	denied_prefix(r2, "role required for writes")
}

test_writes_denied_without_scope if {
	t := task({"scopes": ["github:read", "tools:write"]})
	r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", t)
	denied(r, "missing scope github:write")
}

test_writes_denied_without_scopes_field if {
	r := warden.decision with input as github_input("POST", "/repos/acme/app/issues", object.remove(base_task, ["scopes"]))
	denied(r, "missing scope github:write")
}

test_scope_is_per_upstream if {
	t := task({"scopes": ["github:write"]})
	r := warden.decision with input as mcp_input(mcp_call("create_issue"), t)
	denied(r, "missing scope tools:write")
	r2 := warden.decision with input as github_input("POST", "/repos/acme/app/issues", t)
	allowed(r2, "write", "medium")
}

test_mcp_write_tools_allowed if {
	every tool in ["create_issue", "update_file", "write_file", "comment_pr"] {
		r := warden.decision with input as mcp_input(mcp_call(tool), task({}))
		allowed(r, "write", "medium")
	}
}

test_mcp_write_tools_denied_outside_execute if {
	r := warden.decision with input as mcp_input(mcp_call("create_issue"), task({"stage": "plan"}))
	denied(r, "writes are allowed only in stage execute")
}

test_approval_does_not_bypass_write_checks if {
	inp := with_approval(github_input("POST", "/repos/acme/app/issues", task({"stage": "review"})))
	r := warden.decision with input as inp
	denied(r, "writes are allowed only in stage execute")
}

# --- destructive calls ----------------------------------------------------------------------

test_github_delete_needs_step_up if {
	r := warden.decision with input as github_input("DELETE", "/repos/acme/app/branches/x", maintainer_task({}))
	well_formed(r)
	r.decision == "step_up"
	r.reason == "destructive call needs approval"
	r.lane == "escalation"
	r.risk == "high"
	r.approvers == ["security-oncall"]
	r.headers == {}
}

test_github_merge_needs_step_up if {
	every path in ["/repos/acme/app/pulls/1/merge", "/repos/acme/app/pulls/1/merge/"] {
		r := warden.decision with input as github_input("PUT", path, maintainer_task({}))
		r.decision == "step_up"
		r.lane == "escalation"
		r.risk == "high"
	}
}

test_post_merge_path_is_a_write if {
	r := warden.decision with input as github_input("POST", "/repos/acme/app/merges", task({}))
	allowed(r, "write", "medium")
}

test_mcp_destructive_tools_need_step_up if {
	every tool in ["delete_branch", "drop_table", "force_push"] {
		r := warden.decision with input as mcp_input(mcp_call(tool), maintainer_task({}))
		well_formed(r)
		r.decision == "step_up"
		r.approvers == ["security-oncall"]
		r.risk == "high"
	}
}

test_approvers_come_from_data if {
	r := warden.decision with input as github_input("DELETE", "/repos/acme/app", maintainer_task({}))
		with data.warden.approvers.destructive as ["alice", "bob"]
	r.decision == "step_up"
	r.approvers == ["alice", "bob"]
}

test_destructive_with_approval_allowed if {
	inp := with_approval(github_input("DELETE", "/repos/acme/app/branches/x", maintainer_task({})))
	r := warden.decision with input as inp
	allowed(r, "escalation", "high")
	r.reason == "destructive call approved"
}

test_mcp_destructive_with_approval_allowed if {
	inp := with_approval(mcp_input(mcp_call("force_push"), maintainer_task({})))
	r := warden.decision with input as inp
	allowed(r, "escalation", "high")
}

test_destructive_allowed_for_admin if {
	t := task({"user": {"id": "root", "roles": ["admin"]}})
	r := warden.decision with input as with_approval(github_input("DELETE", "/repos/acme/app", t))
	allowed(r, "escalation", "high")
}

test_destructive_denied_for_developer if {
	r := warden.decision with input as github_input("DELETE", "/repos/acme/app", task({}))
	denied(r, "role required for destructive calls: one of maintainer, admin")
	r.risk == "high"
}

test_destructive_denied_for_developer_even_with_approval if {
	r := warden.decision with input as with_approval(github_input("DELETE", "/repos/acme/app", task({})))
	denied_prefix(r, "role required for destructive calls")
}

test_destructive_denied_outside_execute if {
	every stage in ["plan", "review"] {
		inp := with_approval(github_input("DELETE", "/repos/acme/app", maintainer_task({"stage": stage})))
		r := warden.decision with input as inp
		denied(r, "writes are allowed only in stage execute")
	}
}

test_destructive_denied_for_high_risk if {
	inp := with_approval(github_input("DELETE", "/repos/acme/app", maintainer_task({"risk": "high"})))
	r := warden.decision with input as inp
	denied(r, "high-risk task: destructive calls are not allowed")
	r.risk == "high"
}

test_destructive_denied_without_scope if {
	t := maintainer_task({"scopes": ["github:read"]})
	r := warden.decision with input as with_approval(github_input("DELETE", "/repos/acme/app", t))
	denied(r, "missing scope github:write")
}

test_non_object_approval_is_ignored if {
	inp := object.union(github_input("DELETE", "/repos/acme/app", maintainer_task({})), {"approval": true})
	r := warden.decision with input as inp
	r.decision == "step_up"
}
