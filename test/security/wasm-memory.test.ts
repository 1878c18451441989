// An input large enough to exhaust the policy's wasm memory (src/policy/engine.ts: the memory is
// created with `maximum: policy.max_memory_pages`, and a failed grow or an in-wasm allocation
// failure is a coded error). Here the body limit (4 MiB) is far above what 16 pages (1 MiB) of
// wasm memory can hold, so the memory bound is the only defence in play.
//
// Each test fails if its defence goes: without the `maximum`, the memory grows to fit, the
// example policy allows the write, and the body is forwarded (status 200, upstream contacted).
// Without the fail-closed error path (a thrown eval answered as anything but an error), the call
// would be forwarded or the process would crash. The follow-up requests fail if a failed
// evaluation leaves the policy instance unusable.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_MEM_READ = 'sec-mem-read-secret';
process.env.SEC_MEM_WRITE = 'sec-mem-write-secret';

let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  ({ upstream: github, w, token } = await startProxyPair({
    name: 'github',
    upstream: { lanes: bearerLanes({ read: 'SEC_MEM_READ', write: 'SEC_MEM_WRITE' }) },
    config: { policy: { max_memory_pages: 16, max_body_bytes: 4 * 1024 * 1024 } },
  }));
});
afterAll(() => closeAll(w, github));

async function post(body: string): Promise<Response> {
  return fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
}

async function expectFailsClosed(res: Response, before: number): Promise<void> {
  expect([413, 503]).toContain(res.status);
  const body = (await res.json()) as { error: string; message: string };
  expect(['POLICY_INPUT_TOO_LARGE', 'POLICY_EVAL_FAILED']).toContain(body.error);
  // The error body carries no internal text from the wasm runtime.
  expect(body.message).not.toMatch(/memory|grow|wasm|abort/i);
  expect(github.seen.length).toBe(before);
  const id = res.headers.get('warden-decision-id');
  expect(typeof id).toBe('string');
  const lines = await w.decisionLines(id);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ outcome: 'error', error: body.error, status: res.status });
}

async function expectSmallCallsServed(): Promise<void> {
  const before = github.seen.length;
  const read = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${token}` } });
  expect(read.status).toBe(200);
  await read.arrayBuffer();
  const write = await post(JSON.stringify({ title: 'small' }));
  expect(write.status).toBe(200);
  await write.arrayBuffer();
  expect(github.seen.length).toBe(before + 2);
}

describe('policy input larger than the wasm memory bound', () => {
  it('fails closed on a ~3 MiB JSON body that cannot fit in 1 MiB of wasm memory, and keeps serving', async () => {
    const big = JSON.stringify({ title: 'big', body: 'x'.repeat(3 * 1024 * 1024) });
    const before = github.seen.length;
    const res = await post(big);
    await expectFailsClosed(res, before);
    expect(res.status).toBe(413);
    await expectSmallCallsServed();
  });

  it('fails closed on a compact body whose parsed form exhausts the wasm heap (200 KiB of tiny array items)', async () => {
    // ~0.4 MiB of text fits in the memory as bytes; its parsed form (a value per item) does not.
    const items = new Array(200_000).fill(0);
    const before = github.seen.length;
    const res = await post(JSON.stringify({ title: 'deep', items }));
    await expectFailsClosed(res, before);
    await expectSmallCallsServed();
  });

  it('stays bounded over repeated oversized inputs (no growth, no poisoned instance)', async () => {
    const big = JSON.stringify({ title: 'big', body: 'y'.repeat(3 * 1024 * 1024) });
    for (let i = 0; i < 5; i++) {
      const before = github.seen.length;
      await expectFailsClosed(await post(big), before);
      await expectSmallCallsServed();
    }
  });
});
