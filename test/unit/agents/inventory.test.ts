import { describe, expect, it } from 'vitest';
import { agentView, inventoryCsv, isStale } from '../../../src/agents/inventory.js';
import type { AgentRecord } from '../../../src/store/agents.js';

const DAY = 86_400_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const agent = (over: Partial<AgentRecord> = {}): AgentRecord => ({ id: 'bot', owner: 'team', scopes: ['a:*'], status: 'active', subjects: [], created_at: T0, updated_at: T0, ...over });

describe('stale agents', () => {
  it.each([
    ['registered, never used, within the window', agent(), T0 + 29 * DAY, false],
    ['registered, never used, past the window', agent(), T0 + 31 * DAY, true],
    ['used recently', agent({ last_activity: T0 + 20 * DAY }), T0 + 31 * DAY, false],
    ['used long ago', agent({ last_activity: T0 + DAY }), T0 + 40 * DAY, true],
    ['suspended (already cut off)', agent({ status: 'suspended' }), T0 + 90 * DAY, false],
  ])('%s', (_name, a, now, expected) => {
    expect(isStale(a, now, 30 * DAY)).toBe(expected);
  });
});

describe('inventory', () => {
  it('lists the live tasks of each agent and its last activity', () => {
    const live = [{ id: 't1', agent: 'bot', scopes: [] }, { id: 't2', agent: 'other', scopes: [] }];
    expect(agentView(agent({ last_activity: T0 + DAY }), live, T0 + 2 * DAY, 30 * DAY)).toMatchObject({ id: 'bot', live_tasks: ['t1'], last_activity: '2030-01-02T00:00:00.000Z', stale: false, description: null, max_risk: null });
  });

  it('writes RFC 4180 CSV and defuses formula cells', () => {
    const v = agentView(agent({ owner: '@SUM(A1)', description: 'a, "b"\nc', subjects: [{ issuer: 'https://i', subject: 's' }] }), [], T0, DAY);
    const csv = inventoryCsv([v]);
    const [header, row] = csv.split('\r\n');
    expect(header).toBe('id,owner,status,scopes,max_risk,subjects,live_tasks,live_task_ids,last_activity,stale,created_at,description');
    expect(row).toBe(`bot,'@SUM(A1),active,a:*,,https://i#s,0,,,false,2030-01-01T00:00:00.000Z,"a, ""b""\nc"`);
    expect(csv.endsWith('\r\n')).toBe(true);
  });
});
