// What the fleet tests share: their policy (a call cap of five calls under /capped, a step-up for
// deletes that an approval lets through once, reads allowed) and their one upstream.

export const FLEET_POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "default"}

decision := {"decision": "deny", "reason": "call cap"} if {
  startswith(input.request.path, "/capped")
  input.task.usage.calls >= 5
} else := {"decision": "allow", "lane": "read", "reason": "approved"} if {
  input.request.method == "DELETE"
  input.approval.id
} else := {"decision": "step_up", "reason": "destructive", "approvers": []} if {
  input.request.method == "DELETE"
} else := {"decision": "allow", "lane": "read", "reason": "read"} if {
  input.request.method == "GET"
}
`;

/** The upstream `gh` at `url`, with a static read lane whose secret comes from FLEET_LANE. */
export function fleetUpstreams(url: string): Record<string, Record<string, unknown>> {
  process.env.FLEET_LANE ??= 'fleet-lane-secret';
  return { gh: { prefix: '/gh', url, lanes: { read: { header: 'authorization', value: 'Bearer ${env:FLEET_LANE}' } } } };
}
