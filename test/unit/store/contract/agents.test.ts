// The AgentStore contract on every backend (backends.ts): what the agent registry relies on. An id
// or subject already taken refuses the whole record (nothing of it is written), an update keeps
// what it does not change, and activity is kept at one-second resolution across a restart.

import { describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../../../src/store/agents.js';
import { until } from '../../../helpers/wait.js';
import { useBackends } from './backends.js';

const backends = useBackends();

function agent(id: string, over: Partial<AgentRecord> = {}): AgentRecord {
  return { id, owner: 'platform-team', scopes: ['github:read'], status: 'active', subjects: [], created_at: 1_000, updated_at: 1_000, ...over };
}

describe.each(Object.keys(backends))('AgentStore on %s', (kind) => {
  const open = backends[kind]!;

  it('creates an agent and finds it by id and by each of its subjects', async () => {
    const { stores } = await open();
    const rec = agent('coder', { description: 'writes code', max_risk: 'medium', subjects: [{ issuer: 'spire', subject: 'spiffe://acme/coder' }, { issuer: 'corp', subject: 'svc-coder' }] });
    expect(await stores.agents.create(rec)).toBe(true);
    expect(await stores.agents.get('coder')).toEqual(rec);
    expect(await stores.agents.bySubject('corp', 'svc-coder')).toEqual(rec);
    expect(await stores.agents.bySubject('spire', 'spiffe://acme/coder')).toEqual(rec);
    // Issuer and subject are matched as a pair, exactly.
    expect(await stores.agents.bySubject('spire', 'svc-coder')).toBeUndefined();
    expect(await stores.agents.bySubject('corp', 'SVC-CODER')).toBeUndefined();
    expect(await stores.agents.get('nobody')).toBeUndefined();
  });

  it('refuses a taken id or a subject mapped to another agent, and writes nothing of the refused record', async () => {
    const { stores } = await open();
    await stores.agents.create(agent('coder', { subjects: [{ issuer: 'corp', subject: 'svc-coder' }] }));
    expect(await stores.agents.create(agent('coder', { owner: 'intruder' }))).toBe(false);
    expect(await stores.agents.create(agent('thief', { subjects: [{ issuer: 'corp', subject: 'fresh' }, { issuer: 'corp', subject: 'svc-coder' }] }))).toBe(false);
    expect(await stores.agents.get('coder')).toMatchObject({ owner: 'platform-team' });
    expect(await stores.agents.get('thief')).toBeUndefined();
    expect(await stores.agents.bySubject('corp', 'fresh')).toBeUndefined();
    expect((await stores.agents.list()).map((a) => a.id)).toEqual(['coder']);
  });

  it('update changes owner, scopes and status, keeps the rest, and answers undefined for an unknown agent', async () => {
    const { stores, reopen } = await open();
    const rec = agent('coder', { description: 'writes code', subjects: [{ issuer: 'corp', subject: 'svc-coder' }] });
    await stores.agents.create(rec);
    const next = await stores.agents.update('coder', { status: 'suspended', scopes: ['github:*', 'tools:read'], updated_at: 2_000 });
    expect(next).toEqual({ ...rec, status: 'suspended', scopes: ['github:*', 'tools:read'], updated_at: 2_000 });
    expect(await stores.agents.update('coder', { owner: 'security', updated_at: 3_000 })).toEqual({ ...next, owner: 'security', updated_at: 3_000 });
    expect(await stores.agents.update('nobody', { status: 'retired', updated_at: 4_000 })).toBeUndefined();
    // Seen by another process / after a restart, subject index included.
    const other = await reopen();
    expect(await other.agents.bySubject('corp', 'svc-coder')).toEqual({ ...next, owner: 'security', updated_at: 3_000 });
    expect((await other.agents.list()).map((a) => a.id)).toEqual(['coder']);
  });

  it('keeps activity at one-second resolution, only moving forward, and writes it for the next start', async () => {
    const { stores, reopen } = await open();
    await stores.agents.create(agent('coder'));
    stores.agents.touch('coder', 10_000);
    stores.agents.touch('coder', 10_500); // within the second: not written
    stores.agents.touch('nobody', 10_000); // unknown agents are ignored
    await stores.close();
    const next = await reopen();
    await until(async () => (await next.agents.list())[0]?.last_activity === 10_000);
    expect(await next.agents.get('nobody')).toBeUndefined();
  });
});
