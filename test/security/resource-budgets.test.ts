// Class 5 of issue 10, resource exhaustion before the policy. A deeply nested JSON body used to
// overflow the stack while the input was serialized (500 INTERNAL); it is now refused 400
// BODY_TOO_DEEP by the strict reader (`policy.max_json_depth`, default 64) under any label. A
// request whose headers, with Warden's own added (policy headers, the lane credential, the
// decision id), would pass the upstream's limits is refused 431 HEADERS_TOO_LARGE
// (`upstreams.<name>.max_header_count` / `max_header_bytes`), before an approval is spent.
//
// Mutations checked: with the depth check removed the deep bodies answer 500 INTERNAL (JSON.stringify
// overflows) instead of 400; without checkHeaderBudget the many-header and large-header requests
// are forwarded past the upstream's limit.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { expectForwarded, expectRefused, send, startRig, type Rig } from '../helpers/differential.js';

process.env.SEC_BUDGET_LANE = `budget-lane-${'s'.repeat(200)}`;

const REGO = `
package warden

import rego.v1

decision := {"decision": "allow", "lane": "read", "headers": {"x-policy-tag": "reviewed"}}
`;

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ rego: REGO, upstream: { lanes: bearerLanes({ read: 'SEC_BUDGET_LANE' }), max_header_count: 50, max_header_bytes: 4096 } });
});
afterAll(() => rig.close());

const nested = (depth: number) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;

describe('deep JSON nesting is refused (400 BODY_TOO_DEEP)', () => {
  it('refuses a body nested 100 000 levels deep', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json' }, body: '['.repeat(100_000) + ']'.repeat(100_000) }), 'BODY_TOO_DEEP', 400);
  });

  it('refuses deep nesting under a non-JSON label too', async () => {
    await expectRefused(rig, await send(rig, '/tools/mcp', { headers: { 'content-type': 'text/plain' }, body: nested(5_000) }), 'BODY_TOO_DEEP', 400);
  });

  it('refuses one level past policy.max_json_depth (64 containers)', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json' }, body: '['.repeat(65) + ']'.repeat(65) }), 'BODY_TOO_DEEP', 400);
  });

  it('forwards 64 levels (control)', async () => {
    await expectForwarded(rig, await send(rig, '/api/items', { headers: { 'content-type': 'application/json' }, body: '['.repeat(64) + ']'.repeat(64) }));
  });
});

describe("Warden's own headers never push a request past the upstream's limits (431 HEADERS_TOO_LARGE)", () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));

  it('refuses a request whose header count, with the lane, policy header and decision id, exceeds max_header_count', async () => {
    // 45 agent headers + authorization stripped; Warden adds host, lane, x-policy-tag, warden-decision-id: 49 + the rest > 50.
    await expectRefused(rig, await send(rig, '/api/items', { headers: many(48) }), 'HEADERS_TOO_LARGE', 431);
  });

  it('refuses a request around a thousand headers', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: many(1000) }), 'HEADERS_TOO_LARGE', 431);
  });

  it('refuses a request whose header bytes, with the lane credential, exceed max_header_bytes', async () => {
    await expectRefused(rig, await send(rig, '/api/items', { headers: { 'x-big': 'b'.repeat(3800) } }), 'HEADERS_TOO_LARGE', 431);
  });

  it('forwards a request within both limits, with the lane and the policy header (control)', async () => {
    const { seen } = await expectForwarded(rig, await send(rig, '/api/items', { headers: many(20) }));
    expect(seen.headers['x-policy-tag']).toBe('reviewed');
    expect(Object.keys(seen.headers).length).toBeLessThanOrEqual(50);
  });
});
