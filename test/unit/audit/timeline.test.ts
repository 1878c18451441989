// The task timeline from the decision log of a real Warden run (test/helpers/audit-run.ts).

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTimeline, describeEntry, type CallEntry } from '../../../src/audit/timeline.js';
import { runAuditStory, type AuditRun } from '../../helpers/audit-run.js';

let run: AuditRun;
beforeAll(async () => {
  run = await runAuditStory();
});
afterAll(async () => {
  await run?.close();
});

const logLines = (): string[] => readFileSync(run.w.logFile, 'utf8').split('\n');

describe('buildTimeline', () => {
  it('tells the whole story of a task in order', () => {
    const t = buildTimeline(logLines(), run.taskId);
    expect(t).toMatchObject({ task_id: run.taskId, agent: 'agent-1', user: 'dana', unreadable: 0 });
    // The times are the log's own: the creation line's time, the revocation line's revoked_at.
    const taskLines = logLines().filter((l) => l.includes('"task.')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.task_id === run.taskId);
    expect(t.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(t.created_at).toBe(t.entries[0]!.at);
    expect(t.revoked_at).toBe(taskLines.find((l) => l.event === 'task.revoked')!.revoked_at);
    expect(Date.parse(t.revoked_at!)).toBeGreaterThanOrEqual(Date.parse(t.created_at!));
    const kinds = t.entries.map((e) => (e.kind === 'call' ? `call:${e.outcome}` : e.event));
    expect(kinds).toEqual([
      'task.created',
      'call:allow',
      'call:deny',
      'task.updated',
      'call:allow',
      'approval.requested',
      'call:step_up',
      'approval.approved',
      'approval.used',
      'call:allow',
      'task.revoked',
    ]);
    const calls = t.entries.filter((e): e is CallEntry => e.kind === 'call');
    expect(calls.map((c) => c.decision_id)).toEqual([run.ids.read, run.ids.deniedWrite, run.ids.write, run.ids.stepUp, run.ids.approved]);
    expect(calls[0]).toMatchObject({ method: 'GET', upstream: 'github', path: '/repos/acme/app/issues', lane: 'read', decision: 'allow', stage: 'plan', risk: 'low', status: 200 });
    expect(calls[1]).toMatchObject({ method: 'POST', outcome: 'deny', decision: 'deny', stage: 'plan', status: 403 });
    expect(calls[1]!.reason).toBe('writes are allowed only in stage execute');
    expect(calls[2]).toMatchObject({ outcome: 'allow', lane: 'write', stage: 'execute' });
    expect(calls[3]).toMatchObject({ method: 'DELETE', outcome: 'step_up', approval: run.approvalId, status: 401 });
    expect(calls[4]).toMatchObject({ outcome: 'allow', lane: 'escalation', approval: run.approvalId });
    expect(t.entries.find((e) => e.kind === 'task' && e.event === 'task.updated')).toMatchObject({ from_stage: 'plan', stage: 'execute' });
    expect(t.counts).toEqual({ allow: 3, deny: 1, step_up: 1 });
  });

  it('says who approved what, when, and which call used it', () => {
    const t = buildTimeline(logLines(), run.taskId);
    expect(t.approvals).toHaveLength(1);
    expect(t.approvals[0]).toMatchObject({
      id: run.approvalId,
      status: 'used',
      approver: 'sam',
      reason: 'branch is merged',
      used_by: run.ids.approved,
      call: { decision_id: run.ids.stepUp, method: 'DELETE', upstream: 'github', path: '/repos/acme/app/branches/old' },
    });
    expect(t.approvals[0]!.requested_at! <= t.approvals[0]!.decided_at!).toBe(true);
  });

  it('ignores other tasks and counts unreadable lines', () => {
    const t = buildTimeline([...logLines(), '{not json', JSON.stringify({ type: 'decision', task: 'other', outcome: 'allow' })], run.taskId);
    expect(t.unreadable).toBe(1);
    expect(t.entries.every((e) => e.kind !== 'call' || e.decision_id !== undefined)).toBe(true);
    expect(buildTimeline(logLines(), 'no-such-task').entries).toEqual([]);
  });

  it('describes each entry in one line of text', () => {
    const text = buildTimeline(logLines(), run.taskId).entries.map(describeEntry);
    expect(text[0]).toMatch(/^TASK CREATED agent=agent-1 user=dana stage=plan risk=low/);
    expect(text).toContain('TASK UPDATED stage plan → execute, risk low → low');
    expect(text.find((l) => l.startsWith('APPROVAL APPROVED'))).toBe(`APPROVAL APPROVED ${run.approvalId} by sam reason="branch is merged"`);
    expect(text.find((l) => l.startsWith('STEP_UP'))).toContain(`DELETE github/repos/acme/app/branches/old`);
  });
});
