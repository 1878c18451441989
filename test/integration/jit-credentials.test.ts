// Just-in-time downstream credentials end to end, against a real authorization server
// (oidc-provider with client credentials, resource indicators, introspection, revocation and
// RFC 8693 token exchange): a token is minted per task and lane and reused within the task, two
// tasks get different tokens, the upstream gets the scope and resource the policy narrowed, task
// end and agent suspension revoke it (the server's introspection says inactive), and a server
// that is down answers 503 without forwarding, counting the call or spending an approval.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerOf, LANE_SCOPES, OAUTH_CLIENT, oauthLane, RESOURCE, startTestAuthServer, trustWarden, type AuthServer } from '../helpers/auth-server.js';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll } from '../helpers/proxy-pair.js';
import { sendThrough } from '../helpers/send.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

const POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "no rule", "headers": {}}

decision := {"decision": "allow", "lane": "service", "headers": {}} if startswith(input.request.path, "/cc/")

decision := {"decision": "allow", "lane": "onbehalf", "headers": {}} if {
	startswith(input.request.path, "/tx/")
	input.request.method == "GET"
}

decision := {"decision": "allow", "lane": "onbehalf", "headers": {}, "credential": {"scope": "repo:read", "resource": "https://api.example/repos/acme"}} if {
	startswith(input.request.path, "/narrow/")
}

decision := {"decision": "allow", "lane": "service", "headers": {}, "credential": {"scope": "repo:admin"}} if startswith(input.request.path, "/widen/")

decision := {"decision": "allow", "lane": "onbehalf", "headers": {}, "credential": {"resource": "https://evil.example/"}} if startswith(input.request.path, "/elsewhere/")

decision := {"decision": "step_up", "reason": "deleting needs a human", "lane": "onbehalf", "headers": {}, "approvers": []} if {
	startswith(input.request.path, "/tx/")
	input.request.method == "DELETE"
	not input.approval
}

decision := {"decision": "allow", "lane": "onbehalf", "headers": {}} if {
	startswith(input.request.path, "/tx/")
	input.request.method == "DELETE"
	input.approval
}
`;

let as: AuthServer;
let up: TestUpstream;
let w: WardenHandle;

beforeAll(async () => {
  as = await startTestAuthServer();
  up = await startUpstream();
  // A resource server that does not echo the token back.
  up.on('/', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  w = await startWarden({
    bundle: await compilePolicy(POLICY),
    upstreams: {
      api: {
        prefix: '/api',
        url: up.url,
        lanes: { service: oauthLane(as, 'client_credentials', 'repo:read repo:write'), onbehalf: oauthLane(as, 'token_exchange', LANE_SCOPES.join(' ')) },
      },
    },
    agents: [
      { id: 'agent-1', owner: 'platform-team', scopes: ['*'] },
      { id: 'coder', owner: 'dev-tools', scopes: ['repo:*'] },
    ],
  });
  trustWarden(as, w);
});
afterAll(() => closeAll(w, up, as));

const call = (token: string, path: string, method = 'GET') => sendThrough(w, up, `/api${path}`, { method, headers: { authorization: `Bearer ${token}` } });

/** The token the upstream received in its latest request. */
const lastToken = (): string => bearerOf(up.seen.at(-1)!.headers);

async function expectNoTokenInLog(tokens: readonly string[]): Promise<void> {
  await w.log();
  const text = readFileSync(w.logFile, 'utf8');
  for (const t of [...tokens, OAUTH_CLIENT.secret]) expect(text.includes(t), 'the decision log holds a secret').toBe(false);
}

describe('client credentials lane', () => {
  it('mints one token per task and lane, reuses it within the task, and gives another task another token', async () => {
    const t1 = await w.task();
    const t2 = await w.task();
    const a = await call(t1.token, '/cc/one');
    expect(a.status, a.text).toBe(200);
    const tokenA = lastToken();
    const b = await call(t1.token, '/cc/two');
    expect(b.status).toBe(200);
    expect(lastToken()).toBe(tokenA);
    const c = await call(t2.token, '/cc/one');
    expect(c.status).toBe(200);
    const tokenC = lastToken();
    expect(tokenC).not.toBe(tokenA);

    const info = await as.introspect(tokenA);
    expect(info).toMatchObject({ active: true, client_id: OAUTH_CLIENT.id, scope: 'repo:read repo:write', aud: RESOURCE });

    const lineA = await w.decisionFor(a.id);
    const lineB = await w.decisionFor(b.id);
    const lineC = await w.decisionFor(c.id);
    expect(lineA.credential).toEqual({ lane: 'service', kind: 'client_credentials', id: expect.any(String) });
    expect(lineB.credential.id).toBe(lineA.credential.id);
    expect(lineC.credential.id).not.toBe(lineA.credential.id);
    const issued = (await w.log()).filter((l) => l.event === 'credential.issued' && l.task === t1.task_id);
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({ lane: 'service', kind: 'client_credentials', credential_id: lineA.credential.id, scope: 'repo:read repo:write', resource: RESOURCE });
    await expectNoTokenInLog([tokenA, tokenC]);
  });

  it('a policy asking for a wider scope or another resource is refused (503), never forwarded', async () => {
    const t = await w.task();
    for (const path of ['/widen/x', '/elsewhere/x']) {
      const r = await call(t.token, path);
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('POLICY_RESULT_INVALID');
      expect(r.forwarded).toBe(0);
    }
  });
});

describe('token exchange lane', () => {
  it('the upstream gets a token for the task\'s user with the agent as actor, narrowed as the policy said', async () => {
    const t = await w.task({ agent: 'coder', user: { id: 'alice', roles: ['developer'] }, scopes: ['repo:read'] });
    const full = await call(t.token, '/tx/repos/acme');
    expect(full.status, full.text).toBe(200);
    const wide = lastToken();
    expect(await as.introspect(wide)).toMatchObject({ active: true, sub: 'alice', act: { sub: 'coder', iss: 'warden' }, scope: LANE_SCOPES.join(' '), aud: RESOURCE });

    const narrowed = await call(t.token, '/narrow/repos/acme');
    expect(narrowed.status, narrowed.text).toBe(200);
    const narrow = lastToken();
    expect(narrow).not.toBe(wide);
    expect(await as.introspect(narrow)).toMatchObject({ active: true, sub: 'alice', act: { sub: 'coder' }, scope: 'repo:read', aud: 'https://api.example/repos/acme' });
    expect((await w.decisionFor(narrowed.id)).credential).toMatchObject({ lane: 'onbehalf', kind: 'token_exchange' });
    // The agent's own token never reaches the upstream, and the upstream's never reaches the agent.
    expect(narrowed.text).not.toContain(narrow);
    await expectNoTokenInLog([wide, narrow]);
  });

  it('ending the task revokes its tokens at the authorization server', async () => {
    const t = await w.task({ agent: 'coder', scopes: ['repo:read'] });
    expect((await call(t.token, '/tx/a')).status).toBe(200);
    const first = lastToken();
    expect((await call(t.token, '/narrow/a')).status).toBe(200);
    const second = lastToken();
    expect((await as.introspect(first)).active).toBe(true);

    expect((await w.admin('DELETE', `/v1/tasks/${t.task_id}`)).status).toBe(200);
    expect(await as.introspect(first)).toEqual({ active: false });
    expect(await as.introspect(second)).toEqual({ active: false });
    const revoked = (await w.log()).filter((l) => l.event === 'credential.revoked' && l.task === t.task_id);
    expect(revoked).toHaveLength(2);
    expect((await call(t.token, '/tx/a')).status).toBe(401);
  });

  it('a task that ends by expiry has its tokens revoked by the sweep', async () => {
    const t = await w.task({ agent: 'coder', scopes: ['repo:read'], ttl: '2s' });
    expect((await call(t.token, '/tx/a')).status).toBe(200);
    const token = lastToken();
    // The server would keep it for its own 10 minutes; Warden revokes it once the task is over.
    await expect.poll(() => as.introspect(token), { timeout: 20_000, interval: 250 }).toEqual({ active: false });
    const revoked = (await w.log()).filter((l) => l.event === 'credential.revoked' && l.task === t.task_id);
    expect(revoked).toMatchObject([{ reason: 'task ended', lane: 'onbehalf', kind: 'token_exchange' }]);
  });

  it('suspending the agent revokes its live tasks and their tokens at once; the next call is 401', async () => {
    expect((await w.admin('POST', '/v1/agents', { id: 'batch-bot', owner: 'data-team', scopes: ['repo:read'] })).status).toBe(201);
    const t = await w.task({ agent: 'batch-bot', scopes: ['repo:read'] });
    expect((await call(t.token, '/tx/a')).status).toBe(200);
    const token = lastToken();

    const s = await w.admin('PATCH', '/v1/agents/batch-bot', { status: 'suspended' });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ status: 'suspended', live_tasks: [] });
    expect(await as.introspect(token)).toEqual({ active: false });
    const after = await call(t.token, '/tx/a');
    expect(after.status).toBe(401);
    expect(after.forwarded).toBe(0);
  });

  it('an authorization server that is down answers 503: nothing forwarded, the call not counted, the approval kept', async () => {
    const t = await w.task({ agent: 'coder', user: { id: 'mia', roles: ['maintainer'] }, scopes: ['repo:write'] });
    const del = () => call(t.token, '/tx/repos/acme/branches/old', 'DELETE');
    const challenge = await del();
    expect(challenge.status).toBe(401);
    const approvalId = challenge.body.approval_id as string;
    expect((await w.admin('POST', `/v1/approvals/${approvalId}/approve`, { approver: 'security-oncall' })).status).toBe(200);

    await as.stop();
    try {
      const down = await del();
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ error: 'CREDENTIAL_ISSUER_UNAVAILABLE', decision_id: down.id });
      expect(down.forwarded).toBe(0);
      expect(down.text).not.toContain(OAUTH_CLIENT.secret);
      expect(await w.decisionFor(down.id)).toMatchObject({ outcome: 'error', error: 'CREDENTIAL_ISSUER_UNAVAILABLE', status: 503 });
      const get = await call(t.token, '/tx/repos/acme');
      expect(get.status).toBe(503);
      expect(get.forwarded).toBe(0);
      expect((await w.admin('GET', `/v1/tasks/${t.task_id}`)).body.usage).toEqual({ calls: 0, stage_calls: 0 });
      expect((await w.admin('GET', `/v1/approvals/${approvalId}`)).body.status).toBe('approved');
    } finally {
      await as.start();
    }
    const ok = await del();
    expect(ok.status, ok.text).toBe(200);
    expect(ok.forwarded).toBe(1);
    expect(await w.decisionFor(ok.id)).toMatchObject({ outcome: 'allow', approval: approvalId, credential: { lane: 'onbehalf', kind: 'token_exchange' } });
  });
});
