// The rig of the parser-differential tests (issue 10): two recording upstreams — `api` (REST)
// and `tools` (MCP) — behind one Warden with a policy that denies anything named "delete" in the
// body, the form, the MCP tool or the method, and helpers that send literal bytes and check the
// outcome: refused with a code and one decision line and never forwarded, or forwarded with the
// policy's input equal to what the upstream recorded.

import { expect } from 'vitest';
import { compilePolicy } from './policy.js';
import { closeAll } from './proxy-pair.js';
import { rawRequest, type RawAnswer } from './raw-http.js';
import { startUpstream, type TestUpstream } from './upstream.js';
import { startWarden, type WardenHandle, type WardenOptions } from './warden.js';

export const DELETE_DENYING_REGO = `
package warden

import rego.v1

default decision := {"decision": "allow"}

denied := {"decision": "deny", "reason": "delete"}

decision := denied if input.request.body.action == "delete"
decision := denied if "delete" in input.request.form.action
decision := denied if startswith(input.mcp.tool, "delete_")
decision := denied if input.request.method == "DELETE"
`;

export interface Rig {
  w: WardenHandle;
  api: TestUpstream;
  tools: TestUpstream;
  token: string;
  close(): Promise<void>;
}

export async function startRig(opts: { rego?: string; upstream?: Record<string, unknown>; warden?: Omit<WardenOptions, 'upstreams' | 'bundle'> } = {}): Promise<Rig> {
  const api = await startUpstream();
  const tools = await startUpstream();
  let w: WardenHandle | undefined;
  try {
    const bundle = await compilePolicy(opts.rego ?? DELETE_DENYING_REGO);
    w = await startWarden({
      ...opts.warden,
      bundle,
      upstreams: {
        api: { prefix: '/api', url: api.url, mcp: false, ...opts.upstream },
        tools: { prefix: '/tools', url: tools.url, mcp: true, ...opts.upstream },
      },
    });
    const { token } = await w.task();
    const handle = w;
    return { w, api, tools, token, close: () => closeAll(handle, api, tools) };
  } catch (err) {
    await closeAll(w, api, tools);
    throw err;
  }
}

export interface Sent {
  res: RawAnswer;
  /** Requests the upstream received while this one was under way. */
  forwarded: number;
  up: TestUpstream;
}

/** Send one request with a literal target, headers and body bytes (Content-Length set unless given). */
export async function send(rig: Rig, target: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Sent> {
  const up = target.startsWith('/tools') ? rig.tools : rig.api;
  const before = up.seen.length;
  const body = init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body, 'utf8');
  const headers: Record<string, string> = { authorization: `Bearer ${rig.token}`, ...(body && { 'content-length': String(body.length) }), ...init.headers };
  const res = await rawRequest(rig.w.proxyUrl, target, { method: init.method ?? (body ? 'POST' : 'GET'), headers, chunks: body ? [body] : [], ignoreErrorsOnceAnswered: true });
  return { res, forwarded: up.seen.length - before, up };
}

/** The one decision line of an answered request. */
export async function lineOf(rig: Rig, res: RawAnswer): Promise<Record<string, any>> {
  const id = res.headers['warden-decision-id'];
  expect(typeof id, `no decision id: ${res.status} ${res.body}`).toBe('string');
  const lines = await rig.w.decisionLines(id);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** Refused with `code` and `status`, never forwarded, one decision line naming the code. */
export async function expectRefused(rig: Rig, sent: Sent, code: string, status: number): Promise<void> {
  expect(sent.res.status, sent.res.body).toBe(status);
  expect(JSON.parse(sent.res.body).error).toBe(code);
  expect(sent.forwarded).toBe(0);
  const line = await lineOf(rig, sent.res);
  expect(line).toMatchObject({ outcome: 'error', error: code, status });
}

/** Denied by the policy (it saw the "delete"), never forwarded. */
export async function expectDenied(rig: Rig, sent: Sent): Promise<Record<string, any>> {
  expect(sent.forwarded).toBe(0);
  const line = await lineOf(rig, sent.res);
  expect(line.outcome, sent.res.body).toBe('deny');
  return line;
}

/** Forwarded once; returns the policy's input and what the upstream recorded. */
export async function expectForwarded(rig: Rig, sent: Sent): Promise<{ input: Record<string, any>; seen: TestUpstream['seen'][number] }> {
  expect(sent.res.status, sent.res.body).toBe(200);
  expect(sent.forwarded).toBe(1);
  const line = await lineOf(rig, sent.res);
  return { input: line.input, seen: sent.up.seen.at(-1)! };
}
