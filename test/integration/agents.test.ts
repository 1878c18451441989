// Agents as managed non-human identities, end to end: the scope and risk ceiling holds at task
// creation and on PATCH; suspending an agent revokes its live tasks at once (the next call is 401)
// and refuses new ones; retiring is final; external tokens (SPIFFE JWT-SVIDs, OIDC) map to a
// registered agent by issuer and subject or are refused; the inventory (JSON and CSV) lists owners,
// scopes and live tasks; lifecycle events reach the decision log and agent gauges the metrics.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningKey, signJwt, startJwksServer, type JwksServer, type SigningKey } from '../helpers/jwks-server.js';
import { bearerLanes } from '../helpers/lanes.js';
import { compilePolicy } from '../helpers/policy.js';
import { closeAll } from '../helpers/proxy-pair.js';
import { sendThrough } from '../helpers/send.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ADMIN_TOKEN, startWarden, type WardenHandle } from '../helpers/warden.js';

process.env.TEST_AGENTS_READ = 'agents-read-secret-4c1d';

const SPIRE = 'https://spire.example.org';
const OIDC = 'https://login.example.com';
const SVID = 'spiffe://example.org/ns/agents/sa/coder';

// Allows any caller whose agent the registry describes, and echoes what the policy saw.
const POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "no agent", "headers": {}}

decision := {"decision": "allow", "lane": "read", "headers": {"x-agent": input.agent.id, "x-owner": object.get(input.agent, "owner", "none")}} if {
	is_string(input.agent.id)
}
`;

let up: TestUpstream;
let jwks: JwksServer;
let spire: SigningKey;
let oidc: SigningKey;
let w: WardenHandle;

beforeAll(async () => {
  up = await startUpstream();
  spire = await makeSigningKey('spire-1', 'ES256');
  oidc = await makeSigningKey('oidc-1', 'ES256');
  jwks = await startJwksServer([spire, oidc]);
  w = await startWarden({
    bundle: await compilePolicy(POLICY),
    upstreams: { api: { prefix: '/api', url: up.url, lanes: bearerLanes({ read: 'TEST_AGENTS_READ' }) } },
    config: {
      identity: {
        issuers: [
          { name: 'spire', issuer: SPIRE, audiences: ['warden'], jwks_url: jwks.url, algorithms: ['ES256'], spiffe: true, trust_domain: 'example.org' },
          { name: 'corp', issuer: OIDC, audiences: ['warden'], jwks_url: jwks.url, algorithms: ['ES256'], agent_claim: 'azp' },
        ],
      },
    },
    agents: [
      { id: 'agent-1', owner: 'platform-team', scopes: ['*'] },
      { id: 'reader', owner: 'docs-team', description: 'answers questions', scopes: ['github:read', 'tools:*'], max_risk: 'medium' },
      { id: 'coder', owner: 'dev-tools', scopes: ['github:*'], subjects: [{ issuer: SPIRE, subject: SVID }, { issuer: 'corp', subject: 'svc-coder' }] },
    ],
  });
});
afterAll(() => closeAll(w, up, jwks));

const task = (agent: string, fields: Record<string, unknown> = {}) => w.admin('POST', '/v1/tasks', { agent, user: { id: 'alice' }, stage: 'execute', risk: 'low', scopes: [], ...fields });
const call = (token: string) => sendThrough(w, up, '/api/things', { headers: { authorization: `Bearer ${token}` } });
const now = () => Math.floor(Date.now() / 1000);

describe('the ceiling', () => {
  it('holds at task creation: scopes within the agent\'s, risk up to its max_risk', async () => {
    const beyond = await task('reader', { scopes: ['github:read', 'github:write'] });
    expect(beyond.status).toBe(403);
    expect(beyond.body).toMatchObject({ error: 'AGENT_CEILING_EXCEEDED' });
    expect(beyond.body.message).toContain('github:write');
    expect((await task('reader', { risk: 'high' })).body.error).toBe('AGENT_CEILING_EXCEEDED');
    const ok = await task('reader', { scopes: ['github:read', 'tools:write'], risk: 'medium' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  it('holds on PATCH of the task\'s risk', async () => {
    const t = await task('reader', { scopes: ['tools:read'] });
    const high = await w.admin('PATCH', `/v1/tasks/${t.body.task_id}`, { risk: 'high' });
    expect(high.status).toBe(403);
    expect(high.body.error).toBe('AGENT_CEILING_EXCEEDED');
    expect((await w.admin('GET', `/v1/tasks/${t.body.task_id}`)).body.risk).toBe('low');
    expect((await w.admin('PATCH', `/v1/tasks/${t.body.task_id}`, { risk: 'medium' })).status).toBe(200);
  });

  it('narrowing an agent\'s scopes revokes the live tasks that now exceed them', async () => {
    await w.admin('POST', '/v1/agents', { id: 'narrowed', owner: 'ops', scopes: ['a:read', 'a:write'] });
    const keep = await task('narrowed', { scopes: ['a:read'] });
    const lose = await task('narrowed', { scopes: ['a:write'] });
    const p = await w.admin('PATCH', '/v1/agents/narrowed', { scopes: ['a:read'] });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ scopes: ['a:read'], live_tasks: [keep.body.task_id] });
    expect((await call(lose.body.token)).status).toBe(401);
    expect((await call(keep.body.token)).status).toBe(200);
    expect((await task('narrowed', { scopes: ['a:write'] })).body.error).toBe('AGENT_CEILING_EXCEEDED');
  });

  it('a task for an unregistered agent is refused', async () => {
    const r = await task('nobody');
    expect(r.status).toBe(409);
    expect(r.body.error).toBe('AGENT_REFUSED');
  });
});

describe('the lifecycle', () => {
  it('suspending revokes every live task at once (the next call is 401) and refuses new ones; reactivating allows new ones', async () => {
    await w.admin('POST', '/v1/agents', { id: 'suspect', owner: 'sec-team', scopes: [] });
    const a = await task('suspect');
    const b = await task('suspect');
    expect((await call(a.body.token)).status).toBe(200);

    const s = await w.admin('PATCH', '/v1/agents/suspect', { status: 'suspended' });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ id: 'suspect', status: 'suspended', live_tasks: [] });
    for (const t of [a, b]) {
      const r = await call(t.body.token);
      expect(r.status).toBe(401);
      expect(r.forwarded).toBe(0);
      expect(r.res.headers.get('www-authenticate')).toContain('invalid_token');
      expect((await w.admin('GET', `/v1/tasks/${t.body.task_id}`)).body.status).toBe('revoked');
    }
    expect((await task('suspect')).body.error).toBe('AGENT_REFUSED');

    const events = (await w.log()).filter((l) => l.event === 'agent.suspended' && l.agent === 'suspect');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ owner: 'sec-team', from_status: 'active' });
    expect([...(events[0]!.revoked_tasks as string[])].sort()).toEqual([a.body.task_id, b.body.task_id].sort());

    expect((await w.admin('PATCH', '/v1/agents/suspect', { status: 'active' })).status).toBe(200);
    expect((await call(a.body.token)).status).toBe(401); // a revoked task stays revoked
    const c = await task('suspect');
    expect(c.status).toBe(201);
    expect((await call(c.body.token)).status).toBe(200);
  });

  it('retiring (DELETE) revokes every live task and is final', async () => {
    await w.admin('POST', '/v1/agents', { id: 'old-bot', owner: 'ops', scopes: [] });
    const t = await task('old-bot');
    const d = await w.admin('DELETE', '/v1/agents/old-bot');
    expect(d.status).toBe(200);
    expect(d.body.status).toBe('retired');
    expect((await call(t.body.token)).status).toBe(401);
    expect((await task('old-bot')).body.error).toBe('AGENT_REFUSED');
    expect((await w.admin('PATCH', '/v1/agents/old-bot', { status: 'active' })).body.error).toBe('AGENT_REFUSED');
    expect((await w.admin('POST', '/v1/agents', { id: 'old-bot', owner: 'ops' })).body.error).toBe('AGENT_EXISTS');
  });

  it('input.agent carries the registry\'s owner, status and scopes', async () => {
    const t = await task('reader', { scopes: ['tools:read'] });
    const r = await call(t.body.token);
    expect(r.status).toBe(200);
    expect(up.seen.at(-1)!.headers['x-owner']).toBe('docs-team');
    const line = await w.decisionFor(r.id);
    expect(line.input.agent).toMatchObject({ id: 'reader', issuer: 'warden', owner: 'docs-team', status: 'active', scopes: ['github:read', 'tools:*'] });
  });
});

describe('external identities', () => {
  it('a registered SPIFFE id and OIDC subject pass as their agent', async () => {
    const svid = await signJwt(spire, { iss: SPIRE, aud: 'warden', sub: SVID, iat: now(), exp: now() + 300 });
    const r1 = await call(svid);
    expect(r1.status, r1.text).toBe(200);
    expect((await w.decisionFor(r1.id)).input.agent).toMatchObject({ id: 'coder', issuer: 'spire', owner: 'dev-tools', status: 'active' });
    // Mapped by (issuer, sub): the token's own agent claim does not choose the agent.
    const tok = await signJwt(oidc, { iss: OIDC, aud: 'warden', sub: 'svc-coder', azp: 'agent-1', iat: now(), exp: now() + 300 });
    const r2 = await call(tok);
    expect(r2.status, r2.text).toBe(200);
    expect((await w.decisionFor(r2.id)).input.agent).toMatchObject({ id: 'coder', issuer: 'corp' });
  });

  it('an unregistered SPIFFE id or OIDC subject is refused with 401, never forwarded', async () => {
    const svid = await signJwt(spire, { iss: SPIRE, aud: 'warden', sub: 'spiffe://example.org/ns/agents/sa/intruder', iat: now(), exp: now() + 300 });
    const oidcTok = await signJwt(oidc, { iss: OIDC, aud: 'warden', sub: 'someone-else', azp: 'coder', iat: now(), exp: now() + 300 });
    for (const token of [svid, oidcTok]) {
      const r = await call(token);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('AGENT_NOT_REGISTERED');
      expect(r.forwarded).toBe(0);
      expect(r.res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(await w.decisionFor(r.id)).toMatchObject({ outcome: 'error', error: 'AGENT_NOT_REGISTERED', status: 401 });
    }
  });

  it('the subject of a suspended agent is refused', async () => {
    await w.admin('POST', '/v1/agents', { id: 'svc-paused', owner: 'ops', subjects: [{ issuer: OIDC, subject: 'svc-paused' }] });
    const tok = await signJwt(oidc, { iss: OIDC, aud: 'warden', sub: 'svc-paused', azp: 'x', iat: now(), exp: now() + 300 });
    expect((await call(tok)).status).toBe(200);
    await w.admin('PATCH', '/v1/agents/svc-paused', { status: 'suspended' });
    const r = await call(tok);
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('AGENT_INACTIVE');
    expect(r.forwarded).toBe(0);
  });

  it('a subject that another agent holds cannot be registered twice', async () => {
    const r = await w.admin('POST', '/v1/agents', { id: 'copycat', owner: 'x', subjects: [{ issuer: SPIRE, subject: SVID }] });
    expect(r.status).toBe(409);
    expect(r.body.error).toBe('AGENT_EXISTS');
    expect((await w.admin('GET', '/v1/agents/copycat')).status).toBe(404);
  });
});

describe('the inventory', () => {
  it('lists each agent with owner, scopes, status, live tasks and last activity (JSON)', async () => {
    const before = Date.now();
    const t = await task('reader', { scopes: ['tools:read'] });
    expect((await call(t.body.token)).status).toBe(200);
    const inv = await w.admin('GET', '/v1/agents');
    expect(inv.status).toBe(200);
    const reader = (inv.body.agents as Record<string, any>[]).find((a) => a.id === 'reader')!;
    expect(reader).toMatchObject({ owner: 'docs-team', description: 'answers questions', status: 'active', scopes: ['github:read', 'tools:*'], max_risk: 'medium', stale: false });
    expect(reader.live_tasks).toContain(t.body.task_id);
    // Activity is kept at one-second resolution: at most a second older than this test's calls.
    expect(Date.parse(reader.last_activity)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(reader.last_activity)).toBeLessThanOrEqual(Date.now());
    const coder = (inv.body.agents as Record<string, any>[]).find((a) => a.id === 'coder')!;
    expect(coder.subjects).toEqual([{ issuer: SPIRE, subject: SVID }, { issuer: 'corp', subject: 'svc-coder' }]);
  });

  it('exports CSV for spreadsheets, with formula-like cells defused', async () => {
    await w.admin('POST', '/v1/agents', { id: 'csv-bot', owner: '=HYPERLINK("http://x")', description: 'says "hi", twice', scopes: ['a', 'b'] });
    const res = await fetch(`${w.adminUrl}/v1/agents?format=csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const text = await res.text();
    const [header, ...rows] = text.trimEnd().split('\r\n');
    expect(header).toBe('id,owner,status,scopes,max_risk,subjects,live_tasks,live_task_ids,last_activity,stale,created_at,description');
    const row = rows.find((r) => r.startsWith('csv-bot,'))!;
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(row).toContain('"says ""hi"", twice"');
    expect(row).toContain(',a b,');
    expect(rows.find((r) => r.startsWith('reader,'))).toMatch(/^reader,docs-team,active,github:read tools:\*,medium,,\d+,/);
  });

  it('counts agents by status in the metrics', async () => {
    const text = await (await fetch(`${w.adminUrl}/metrics`)).text();
    expect(text).toMatch(/^warden_agents\{status="active"\} \d+$/m);
    expect(text).toMatch(/^warden_agents\{status="retired"\} [1-9]\d*$/m);
    expect(text).toMatch(/^warden_agents_stale 0$/m);
  });
});
