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
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

process.env.SEC_MEM_READ = 'sec-mem-read-secret';
process.env.SEC_MEM_WRITE = 'sec-mem-write-secret';

let github: TestUpstream;
let w: WardenHandle;
let token: string;

beforeAll(async () => {
  github = await startUpstream();
  w = await startWarden({
    config: { policy: { max_memory_pages: 16, max_body_bytes: 4 * 1024 * 1024 } },
    upstreams: {
      github: {
        prefix: '/github',
        url: github.url,
        lanes: {
          read: { header: 'authorization', value: 'Bearer ${env:SEC_MEM_READ}' },
          write: { header: 'authorization', value: 'Bearer ${env:SEC_MEM_WRITE}' },
        },
      },
    },
  });
  token = (await w.task()).token;
});
afterAll(async () => {
  await w?.close();
  await github?.close();
});

async function post(body: string): Promise<Response> {
  return fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
}

/** The decision log so far; [] while a line is half on disk (the log is written asynchronously). */
async function settledDecisions(): Promise<Record<string, unknown>[]> {
  try {
    return await w.decisions();
  } catch (err) {
    if (err instanceof SyntaxError) return [];
    throw err;
  }
}

/**
 * The decision lines of one request. Polled: the log is written asynchronously and a line in an
 * in-flight write is not on disk until that write completes, even after a flush.
 */
async function decisionLines(id: unknown): Promise<Record<string, any>[]> {
  expect(typeof id).toBe('string');
  for (let i = 0; i < 100; i++) {
    const lines = (await settledDecisions()).filter((d) => d.decision_id === id);
    if (lines.length > 0) return lines as Record<string, any>[];
    await new Promise((r) => setTimeout(r, 20));
  }
  return [];
}

async function expectFailsClosed(res: Response, before: number): Promise<void> {
  expect([413, 503]).toContain(res.status);
  const body = (await res.json()) as { error: string; message: string };
  expect(['POLICY_INPUT_TOO_LARGE', 'POLICY_EVAL_FAILED']).toContain(body.error);
  // The error body carries no internal text from the wasm runtime.
  expect(body.message).not.toMatch(/memory|grow|wasm|abort/i);
  expect(github.seen.length).toBe(before);
  const id = res.headers.get('warden-decision-id');
  const lines = await decisionLines(id);
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
