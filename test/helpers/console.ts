// The approver console under test: a real Warden with named approver tokens and a compiled test
// policy (DELETE and MCP delete_* tools need alice's approval; GET is allowed; an approved retry is
// allowed), a real upstream, and an HTTP client that behaves like a browser on the console (keeps
// its cookie, reads the form's CSRF token, sends Origin and Sec-Fetch-Site).

import { bearerLanes } from './lanes.js';
import { compilePolicy } from './policy.js';
import { rawRequest, type RawAnswer } from './raw-http.js';
import { startUpstream, type TestUpstream } from './upstream.js';
import { ADMIN_TOKEN, startWarden, type WardenHandle } from './warden.js';

export const APPROVER_TOKENS = { alice: 'console-alice-token-0123456789', bob: 'console-bob-token-0123456789' } as const;
process.env.TEST_CONSOLE_ALICE = APPROVER_TOKENS.alice;
process.env.TEST_CONSOLE_BOB = APPROVER_TOKENS.bob;
process.env.TEST_CONSOLE_GH_READ = 'console-gh-read-secret';
process.env.TEST_CONSOLE_GH_WRITE = 'console-gh-write-secret';
export { ADMIN_TOKEN };

export const CONSOLE_POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "not in this policy", "lane": "read", "headers": {}}

destructive if input.request.method == "DELETE"
destructive if startswith(input.mcp.tool, "delete_")

decision := {"decision": "allow", "reason": "read", "lane": "read", "headers": {}} if {
	input.request.method == "GET"
} else := {"decision": "allow", "reason": "approved by a human", "lane": "write", "headers": {}} if {
	destructive
	input.approval.approver == "alice"
} else := {"decision": "step_up", "reason": "deleting needs alice", "lane": "write", "risk": "high", "headers": {}, "approvers": ["alice"]} if {
	destructive
}
`;

export interface ConsoleSetup {
  w: WardenHandle;
  up: TestUpstream;
  close(): Promise<void>;
}

export async function startConsoleWarden(extra: Record<string, unknown> = {}): Promise<ConsoleSetup> {
  const up = await startUpstream();
  const bundle = await compilePolicy(CONSOLE_POLICY);
  const w = await startWarden({
    bundle,
    upstreams: {
      github: { prefix: '/github', url: up.url, mcp: false, lanes: bearerLanes({ read: 'TEST_CONSOLE_GH_READ', write: 'TEST_CONSOLE_GH_WRITE' }) },
      tools: { prefix: '/tools', url: up.url, mcp: true, lanes: bearerLanes({ read: 'TEST_CONSOLE_GH_READ', write: 'TEST_CONSOLE_GH_WRITE' }) },
    },
    config: {
      admin: { listen: '127.0.0.1:0', token: '${env:WARDEN_TEST_ADMIN_TOKEN}', approvers: { alice: '${env:TEST_CONSOLE_ALICE}', bob: '${env:TEST_CONSOLE_BOB}' } },
      ...extra,
    },
  });
  return {
    w,
    up,
    async close() {
      await w.close();
      await up.close();
    },
  };
}

/** A destructive call by a fresh task: answered with a step-up; returns the approval id and the call's token. */
export async function pendingApproval(w: WardenHandle, path = '/github/repos/acme/app/branches/tmp'): Promise<{ id: string; token: string; task_id: string; path: string }> {
  const t = await w.task();
  const res = await fetch(`${w.proxyUrl}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.token}` } });
  const body = (await res.json()) as { approval_id?: string };
  if (res.status !== 401 || !body.approval_id) throw new Error(`expected a step-up, got ${res.status} ${JSON.stringify(body)}`);
  return { id: body.approval_id, token: t.token, task_id: t.task_id, path };
}

const CSRF = /name="csrf" value="([^"]+)"/;

/** A browser-like client of the console: one cookie jar entry, the last form token seen. */
export class ConsoleClient {
  cookie: string | undefined;
  csrf: string | undefined;
  last: RawAnswer | undefined;

  constructor(readonly base: string) {}

  /** The headers a browser sends with a POST from a console page. */
  sameOriginHeaders(): Record<string, string> {
    return { origin: this.base, 'sec-fetch-site': 'same-origin' };
  }

  #keep(a: RawAnswer): RawAnswer {
    const set = [a.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('warden_console='));
    if (set) {
      const value = set.slice('warden_console='.length).split(';')[0]!;
      this.cookie = value === '' ? undefined : value;
    }
    const m = CSRF.exec(a.body);
    if (m) this.csrf = m[1];
    this.last = a;
    return a;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
    return this.#keep(await rawRequest(this.base, path, { headers: { ...(this.cookie && { cookie: `warden_console=${this.cookie}` }), ...headers } }));
  }

  /** POST a form; `headers` replace the same-origin defaults where given (undefined drops one). */
  async post(path: string, fields: Record<string, string | undefined>, headers: Record<string, string | undefined> = {}): Promise<RawAnswer> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.set(k, v);
    const all: Record<string, string | undefined> = { ...this.sameOriginHeaders(), 'content-type': 'application/x-www-form-urlencoded', ...(this.cookie && { cookie: `warden_console=${this.cookie}` }), ...headers };
    const sent = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
    return this.#keep(await rawRequest(this.base, path, { method: 'POST', headers: sent, chunks: [form.toString()] }));
  }

  /**
   * Open the sign-in form (any console page) and sign in with `token`; the answer to the sign-in
   * POST is returned, and, as a browser does, the page it redirects to is fetched (its form token
   * is the session's).
   */
  async signIn(token: string, next = '/console/'): Promise<RawAnswer> {
    await this.get(next);
    const r = await this.post('/console/signin', { csrf: this.csrf, token, next });
    if (r.status === 303) await this.get(r.headers.location as string);
    return r;
  }
}
