# The result always has exactly the six contract keys with the right types, for any input.
package warden_test

import data.warden
import rego.v1

sample_inputs := [
	{},
	{"request": null},
	{"task": null},
	{"task": base_task},
	{"request": gh("GET", "/x")},
	github_input("GET", "/repos/acme/app", base_task),
	github_input("POST", "/repos/acme/app/issues", base_task),
	github_input("POST", "/repos/acme/app/issues", task({"stage": "plan"})),
	github_input("DELETE", "/repos/acme/app", maintainer_task({})),
	with_approval(github_input("DELETE", "/repos/acme/app", maintainer_task({}))),
	github_input("PUT", "/repos/acme/app/pulls/1/merge", task({"risk": "high"})),
	github_input("OPTIONS", "/", base_task),
	github_input("GET", "/x", task({"stage": "done"})),
	github_input("GET", "/x", task({"usage": {"calls": 9999}})),
	github_input("GET", 42, base_task),
	mcp_input(mcp("tools/list"), base_task),
	mcp_input(mcp("bogus"), base_task),
	mcp_input(mcp_call("search_code"), base_task),
	mcp_input(mcp_call("create_issue"), base_task),
	mcp_input(mcp_call("delete_repo"), maintainer_task({})),
	mcp_input(mcp_call("nope"), base_task),
	mcp_input("not-an-object", base_task),
	{"request": gh("GET", "/x"), "task": {"stage": "execute", "risk": "low", "user": "x", "scopes": "y", "usage": []}},
]

test_result_always_has_the_six_keys if {
	every inp in sample_inputs {
		r := warden.decision with input as inp
		well_formed(r)
	}
}

test_result_is_one_of_three_decisions if {
	decisions := {r.decision |
		some inp in sample_inputs
		r := warden.decision with input as inp
	}
	decisions == {"allow", "deny", "step_up"}
}

test_only_allow_carries_headers if {
	every inp in sample_inputs {
		r := warden.decision with input as inp
		is_allow := r.decision == "allow"
		has_headers := r.headers != {}
		is_allow == has_headers
	}
}

test_allow_headers_carry_stage if {
	every stage in ["plan", "execute", "review"] {
		r := warden.decision with input as github_input("GET", "/x", task({"stage": stage}))
		r.headers == {"x-warden-stage": stage}
	}
}

test_only_step_up_carries_approvers if {
	every inp in sample_inputs {
		r := warden.decision with input as inp
		is_step_up := r.decision == "step_up"
		has_approvers := count(r.approvers) > 0
		is_step_up == has_approvers
	}
}

test_lane_empty_only_on_deny if {
	every inp in sample_inputs {
		r := warden.decision with input as inp
		is_deny := r.decision == "deny"
		no_lane := r.lane == ""
		is_deny == no_lane
	}
}

test_default_result_is_a_well_formed_deny if {
	# The default applies only if the chain matched nothing; it must itself be well formed.
	r := warden.decision with warden.has_task as true
		with warden.data_ok as true
		with input as {"task": {"stage": "execute", "risk": "low"}, "request": {"upstream": "github", "method": "GET"}}
		with warden.request_kind as "other"
	denied(r, "no rule matched")
}
