// PolicyEngine.evaluate writes the input straight into the wasm memory and reads the result out of
// it (src/policy/engine.ts). Checked here against opa-wasm's own evaluate() on a real compiled
// policy: small inputs, non-ASCII text, an input larger than the memory (which must grow first),
// a result the evaluation grows the memory for, and the memory bound still refusing.

import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBundle, readBundleFiles } from '../../../src/policy/bundle.js';
import { parseDecision } from '../../../src/policy/decision.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import type { Decision } from '../../../src/policy/types.js';
import { compilePolicy } from '../../helpers/policy.js';

// A valid decision that echoes the input, so that a wrongly copied input shows in the result.
const REGO = `package t
import rego.v1
decision := {"decision": "step_up", "reason": input.text, "lane": sprintf("%d", [count(input.items)]), "headers": {}, "approvers": approvers}
approvers := [input.text, input.text, input.text, input.text] if input.big
approvers := [] if not input.big
`;

let bundle: string;

beforeAll(async () => {
  bundle = await compilePolicy(REGO, { entrypoint: 't/decision' });
});

async function engine(maxMemoryPages = 256): Promise<PolicyEngine> {
  const e = new PolicyEngine({ entrypoint: 't/decision', maxMemoryPages });
  await e.load(bundle);
  return e;
}

/** What opa-wasm's own evaluate() gives, parsed as the engine parses it. */
async function reference(input: unknown): Promise<Decision> {
  const b = parseBundle('ref', await readBundleFiles(bundle));
  const policy = await loadPolicy(await WebAssembly.compile(new Uint8Array(b.wasm)), { initial: 8, maximum: 256 });
  policy.setData(b.data);
  return parseDecision(policy.evaluate(input, 0));
}

describe('PolicyEngine.evaluate', () => {
  const inputs: Array<[string, { text: string; items: number[]; big?: boolean }]> = [
    ['a small input', { text: 'hello', items: [1, 2, 3] }],
    ['non-ASCII text', { text: 'grüße – 日本 😀', items: [] }],
    ['an input larger than the initial memory (8 pages)', { text: 'x'.repeat(700 * 1024), items: new Array(1000).fill(7) }],
    ['an evaluation that grows the memory for its own values', { text: 'y'.repeat(200 * 1024), items: [], big: true }],
  ];

  it.each(inputs)('gives what opa-wasm evaluate() gives for %s, again and again', async (_name, input) => {
    const e = await engine();
    const want = await reference(input);
    expect(want).toMatchObject({ reason: input.text, lane: String(input.items.length) });
    const json = JSON.stringify(input);
    expect(e.evaluate(json).decision).toEqual(want);
    expect(e.evaluate(json).decision).toEqual(want);
    // A small input after a large one is read from the same address, with nothing left over.
    expect(e.evaluate(JSON.stringify({ text: 'after', items: [1] })).decision).toEqual({ decision: 'step_up', reason: 'after', lane: '1', headers: {}, approvers: [] });
  });

  it('refuses an input past the memory bound as POLICY_INPUT_TOO_LARGE, and keeps working', async () => {
    const e = await engine(16);
    expect(() => e.evaluate(JSON.stringify({ text: 'z'.repeat(1200 * 1024), items: [] }))).toThrow(expect.objectContaining({ code: 'POLICY_INPUT_TOO_LARGE' }));
    expect(e.evaluate(JSON.stringify({ text: 'ok', items: [] })).decision).toMatchObject({ decision: 'step_up', reason: 'ok', lane: '0' });
  });
});
