// The agent registry's rules on its own, over the real SQLite stores (agents and tasks) with an
// injected clock: each registration field checked and named, the lifecycle (a retired agent is
// final; suspending, retiring and narrowing revoke exactly the tasks they must), the events it
// reports, the counts behind the metrics, and the AGENT_* codes of admitting and identifying.
// The same flows over HTTP are in test/integration/agents.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentService, type AgentEvent } from '../../../src/agents/agent-service.js';
import { openSqliteStores } from '../../../src/store/sqlite/open.js';
import type { Stores } from '../../../src/store/stores.js';

const RISKS = ['low', 'medium', 'high'];
const HOUR = 3_600_000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(registeredOnly = true): { svc: AgentService; stores: Stores; events: AgentEvent[]; clock: { now: number }; task(id: string, agent: string, scopes: string[]): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'agents-unit-'));
  const stores = openSqliteStores(dir);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => stores.close());
  const clock = { now: 1_000_000 };
  const events: AgentEvent[] = [];
  const tasks = { live: (now: number) => stores.tasks.live(now), revoke: async (id: string) => stores.tasks.revoke(id, clock.now) };
  const svc = new AgentService(stores.agents, tasks, { risks: RISKS, registeredOnly, staleAfterMs: 24 * HOUR, onEvent: (e) => void events.push(e), now: () => clock.now });
  const task = async (id: string, agent: string, scopes: string[]): Promise<void> => {
    await stores.tasks.create({ id, agent, user: { id: 'u' }, stage: 'plan', risk: 'low', scopes, created_at: clock.now, expires_at: clock.now + HOUR });
  };
  return { svc, stores, events, clock, task };
}

const coder = { id: 'coder', owner: 'platform-team', scopes: ['github:*', 'tools:read'], max_risk: 'medium' };

describe('AgentService.register', () => {
  it('stores the agent active, stamped with the clock, and reports it', async () => {
    const { svc, events } = setup();
    const rec = await svc.register({ ...coder, description: 'writes code', subjects: [{ issuer: 'corp', subject: 'svc-coder' }] });
    expect(rec).toEqual({ ...coder, description: 'writes code', status: 'active', subjects: [{ issuer: 'corp', subject: 'svc-coder' }], created_at: 1_000_000, updated_at: 1_000_000 });
    expect(events).toEqual([{ event: 'agent.registered', agent: 'coder', owner: 'platform-team', scopes: coder.scopes, max_risk: 'medium', subjects: [{ issuer: 'corp', subject: 'svc-coder' }] }]);
    await expect(svc.register({ id: 'other', owner: 'x', subjects: [{ issuer: 'corp', subject: 'svc-coder' }] })).rejects.toMatchObject({ code: 'AGENT_EXISTS', status: 409 });
    await expect(svc.register(coder)).rejects.toMatchObject({ code: 'AGENT_EXISTS' });
    expect(events).toHaveLength(1);
  });

  it.each([
    ['a body that is not an object', [], 'body: must be a JSON object'],
    ['an unknown field', { ...coder, stgae: 'plan' }, 'stgae: unknown field (allowed: id, owner, description, scopes, max_risk, subjects)'],
    ['an id starting with a dot', { ...coder, id: '.hidden' }, 'id: must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)'],
    ['an id of 129 characters', { ...coder, id: 'a'.repeat(129) }, 'id: must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)'],
    ['an id with a slash', { ...coder, id: 'a/b' }, 'id: must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)'],
    ['a blank owner', { ...coder, owner: '  ' }, 'owner: must be a non-empty string of at most 256 characters'],
    ['an empty scope', { ...coder, scopes: ['github:read', ''] }, 'scopes: must be a list of at most 256 non-empty strings'],
    ['an unknown max_risk', { ...coder, max_risk: 'extreme' }, 'max_risk: must be one of low, medium, high'],
    ['a subject listed twice', { ...coder, subjects: [{ issuer: 'i', subject: 's' }, { issuer: 'i', subject: 's' }] }, 'subjects[1]: listed twice'],
    ['a subject with another field', { ...coder, subjects: [{ issuer: 'i', subject: 's', aud: 'x' }] }, 'aud: unknown field (allowed: issuer, subject)'],
    ['a subject without an issuer', { ...coder, subjects: [{ subject: 's' }] }, 'subjects[0].issuer: must be a non-empty string of at most 1024 characters'],
    ['65 subjects', { ...coder, subjects: Array.from({ length: 65 }, (_, i) => ({ issuer: 'i', subject: `s${i}` })) }, 'subjects: must be a list of at most 64 {issuer, subject} objects'],
  ])('refuses %s with ADMIN_BAD_REQUEST naming the field', async (_what, body, detail) => {
    const { svc, stores } = setup();
    await expect(svc.register(body)).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST', detail });
    expect(await stores.agents.list()).toEqual([]);
  });
});

describe('AgentService lifecycle', () => {
  it('narrowing the scopes revokes exactly the live tasks that now exceed them, and says which', async () => {
    const { svc, stores, events, task } = setup();
    await svc.register(coder);
    await task('within', 'coder', ['github:read']);
    await task('beyond', 'coder', ['github:read', 'tools:read']);
    await task('other-agent', 'reviewer', ['tools:read']);
    events.length = 0;
    await svc.patch('coder', { scopes: ['github:*'] });
    expect(events).toEqual([{ event: 'agent.updated', agent: 'coder', owner: 'platform-team', scopes: ['github:*'], from_owner: 'platform-team', from_scopes: coder.scopes, revoked_tasks: ['beyond'] }]);
    const revoked = async (id: string) => (await stores.tasks.get(id))!.revoked_at !== undefined;
    expect([await revoked('within'), await revoked('beyond'), await revoked('other-agent')]).toEqual([false, true, false]);
  });

  it('suspending revokes every live task and is reported once; reactivating revokes nothing', async () => {
    const { svc, events, task, clock } = setup();
    await svc.register(coder);
    await task('t1', 'coder', []);
    await task('t2', 'coder', []);
    events.length = 0;
    clock.now += 5_000;
    expect(await svc.patch('coder', { status: 'suspended' })).toMatchObject({ status: 'suspended', updated_at: 1_005_000 });
    await svc.patch('coder', { status: 'suspended' });
    await svc.patch('coder', { status: 'active' });
    expect(events.map((e) => [e.event, 'revoked_tasks' in e ? [...e.revoked_tasks].sort() : undefined])).toEqual([
      ['agent.suspended', ['t1', 't2']],
      ['agent.reactivated', []],
    ]);
  });

  it('retiring is final and idempotent: one event, then every change refused with AGENT_REFUSED', async () => {
    const { svc, events, task } = setup();
    await svc.register(coder);
    await task('t1', 'coder', []);
    events.length = 0;
    expect((await svc.retire('coder')).status).toBe('retired');
    expect((await svc.retire('coder')).status).toBe('retired');
    expect(events).toEqual([{ event: 'agent.retired', agent: 'coder', owner: 'platform-team', from_status: 'active', revoked_tasks: ['t1'] }]);
    await expect(svc.patch('coder', { status: 'active' })).rejects.toMatchObject({ code: 'AGENT_REFUSED', detail: 'agent coder is retired' });
    await expect(svc.admitTask('coder', [], 'low')).rejects.toMatchObject({ code: 'AGENT_REFUSED', detail: 'agent coder is retired' });
  });

  it.each([
    ['an empty patch', {}, 'body: give status, owner or scopes'],
    ['status retired (that is DELETE)', { status: 'retired' }, 'status: must be "active" or "suspended" (DELETE retires an agent)'],
    ['an unknown field', { max_risk: 'high' }, 'max_risk: unknown field (allowed: status, owner, scopes)'],
  ])('refuses %s with ADMIN_BAD_REQUEST', async (_what, body, detail) => {
    const { svc } = setup();
    await svc.register(coder);
    await expect(svc.patch('coder', body)).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST', detail });
  });

  it('answers ADMIN_NOT_FOUND for an unknown agent', async () => {
    const { svc } = setup();
    await expect(svc.get('nobody')).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND', detail: 'agent nobody' });
    await expect(svc.patch('nobody', { owner: 'x' })).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    await expect(svc.retire('nobody')).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND' });
  });

  it('counts agents by status, and active ones unused for stale_after as stale', async () => {
    const { svc, clock } = setup();
    await svc.register(coder);
    await svc.register({ id: 'idle', owner: 'x' });
    await svc.register({ id: 'gone', owner: 'x' });
    await svc.retire('gone');
    clock.now += 24 * HOUR;
    expect(await svc.counts()).toEqual({ byStatus: { active: 2, suspended: 0, retired: 1 }, stale: 0 });
    await svc.admitTask('coder', ['github:read'], 'low'); // activity
    clock.now += 1;
    expect(await svc.counts()).toEqual({ byStatus: { active: 2, suspended: 0, retired: 1 }, stale: 1 });
    expect((await svc.views()).map((v) => [v.id, v.stale])).toEqual([['coder', false], ['gone', false], ['idle', true]]);
  });
});

describe('AgentService admitting and identifying', () => {
  it.each([
    ['scopes beyond the ceiling', ['github:read', 'tools:write', 'admin'], 'low', 'AGENT_CEILING_EXCEEDED', "scopes beyond agent coder's: tools:write, admin"],
    ['a risk above max_risk', ['github:read'], 'high', 'AGENT_CEILING_EXCEEDED', "risk high is above agent coder's max_risk medium"],
  ])('refuses a task with %s', async (_what, scopes, risk, code, detail) => {
    const { svc } = setup();
    await svc.register(coder);
    await expect(svc.admitTask('coder', scopes, risk)).rejects.toMatchObject({ code, status: 403, detail });
    await expect(svc.admitTask('coder', ['github:anything', 'tools:read'], 'medium')).resolves.toBeUndefined();
  });

  it('an unregistered agent: refused when registered_agents_only, passes (as undefined) otherwise', async () => {
    const strict = setup(true).svc;
    await expect(strict.admitTask('ghost', [], 'low')).rejects.toMatchObject({ code: 'AGENT_REFUSED', detail: 'agent ghost is not registered' });
    expect(() => strict.forTask('ghost')).toThrow(expect.objectContaining({ code: 'AGENT_NOT_REGISTERED', status: 401, detail: 'agent ghost' }));
    const open = setup(false).svc;
    await expect(open.admitTask('ghost', ['anything'], 'high')).resolves.toBeUndefined();
    expect(open.forTask('ghost')).toBeUndefined();
  });

  it('finds a subject under any of its issuer labels, in order, and refuses a suspended agent with AGENT_INACTIVE', async () => {
    const { svc } = setup();
    await svc.register({ ...coder, subjects: [{ issuer: 'https://idp.example', subject: 'svc-coder' }] });
    expect((await svc.forSubject(['corp', 'https://idp.example'], 'svc-coder'))!.id).toBe('coder');
    expect(() => svc.forSubject(['corp'], 'svc-coder')).toThrow(expect.objectContaining({ code: 'AGENT_NOT_REGISTERED', detail: 'subject of corp' }));
    await svc.patch('coder', { status: 'suspended' });
    expect(() => svc.forSubject(['https://idp.example'], 'svc-coder')).toThrow(expect.objectContaining({ code: 'AGENT_INACTIVE', status: 401, detail: 'agent coder is suspended' }));
    expect(() => svc.forTask('coder')).toThrow(expect.objectContaining({ code: 'AGENT_INACTIVE' }));
  });
});
