# Tests of the per-task and per-stage call caps and of the data sanity check.
package warden_test

import data.warden
import rego.v1

test_defaults_from_data_json if {
	data.warden.limits.max_calls_per_task == 500
	data.warden.limits.max_calls_per_stage == 200
}

test_below_caps_allowed if {
	r := warden.decision with input as github_input("GET", "/x", task({"usage": {"calls": 499, "stage_calls": 199}}))
	allowed(r, "read", "low")
}

test_task_cap_denies if {
	every n in [500, 501, 100000] {
		r := warden.decision with input as github_input("GET", "/x", task({"usage": {"calls": n, "stage_calls": 0}}))
		denied(r, "call cap reached: max_calls_per_task")
		r.risk == "low"
	}
}

test_stage_cap_denies if {
	every n in [200, 250] {
		r := warden.decision with input as github_input("GET", "/x", task({"usage": {"calls": 300, "stage_calls": n}}))
		denied(r, "call cap reached: max_calls_per_stage")
	}
}

test_task_cap_named_first_when_both_reached if {
	r := warden.decision with input as github_input("GET", "/x", task({"usage": {"calls": 500, "stage_calls": 200}}))
	denied(r, "call cap reached: max_calls_per_task")
}

test_caps_apply_to_approved_destructive_calls if {
	t := maintainer_task({"usage": {"calls": 500, "stage_calls": 0}})
	r := warden.decision with input as with_approval(github_input("DELETE", "/x", t))
	denied(r, "call cap reached: max_calls_per_task")
	r.risk == "high"
}

test_caps_apply_to_mcp if {
	r := warden.decision with input as mcp_input(mcp("tools/list"), task({"usage": {"calls": 0, "stage_calls": 200}}))
	denied(r, "call cap reached: max_calls_per_stage")
}

test_caps_are_tunable if {
	t := task({"usage": {"calls": 2, "stage_calls": 0}})
	r := warden.decision with input as github_input("GET", "/x", t)
		with data.warden.limits.max_calls_per_task as 2
	denied(r, "call cap reached: max_calls_per_task")
	r2 := warden.decision with input as github_input("GET", "/x", t)
		with data.warden.limits.max_calls_per_stage as 0
	denied(r2, "call cap reached: max_calls_per_stage")
}

test_absent_usage_counts_as_zero if {
	r := warden.decision with input as github_input("GET", "/x", object.remove(base_task, ["usage"]))
	allowed(r, "read", "low")
	r2 := warden.decision with input as github_input("GET", "/x", task({"usage": {}}))
	allowed(r2, "read", "low")
}

test_non_numeric_usage_fails_closed if {
	r := warden.decision with input as github_input("GET", "/x", task({"usage": {"calls": "3", "stage_calls": 0}}))
	denied(r, "call cap reached: max_calls_per_task")
	r2 := warden.decision with input as github_input("GET", "/x", task({"usage": {"calls": 1, "stage_calls": null}}))
	denied(r2, "call cap reached: max_calls_per_stage")
}

test_missing_data_denies if {
	r := warden.decision with input as github_input("GET", "/x", base_task)
		with data.warden.limits as {}
	denied(r, "policy data missing")
	r2 := warden.decision with input as github_input("GET", "/x", base_task)
		with data.warden.roles.write as "developer"
	denied(r2, "policy data missing")
}
