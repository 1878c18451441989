// A real Warden run whose decision log tells a whole task's story: the task is created in stage
// plan, a read is allowed, a write is denied (plan stage), the stage moves to execute, the write is
// allowed, a DELETE asks for approval, a person approves it, the retry passes on the escalation
// lane, the task is revoked and its next call refused. Audit tests (verify, trace, replay) read
// the log this leaves behind.

import { bearerLanes } from './lanes.js';
import { startUpstream, type TestUpstream } from './upstream.js';
import { startWarden, type WardenHandle, type WardenOptions } from './warden.js';

process.env.TEST_AUDIT_GH_READ ??= 'audit-gh-read-secret';
process.env.TEST_AUDIT_GH_WRITE ??= 'audit-gh-write-secret';
process.env.TEST_AUDIT_GH_ESC ??= 'audit-gh-escalation-secret';

export interface AuditRun {
  w: WardenHandle;
  gh: TestUpstream;
  taskId: string;
  /** Decision ids by step. */
  ids: { read: string; deniedWrite: string; write: string; stepUp: string; approved: string; afterRevoke: string };
  approvalId: string;
  close(): Promise<void>;
}

export function auditUpstreams(ghUrl: string): NonNullable<WardenOptions['upstreams']> {
  return { github: { prefix: '/github', url: ghUrl, lanes: bearerLanes({ read: 'TEST_AUDIT_GH_READ', write: 'TEST_AUDIT_GH_WRITE', escalation: 'TEST_AUDIT_GH_ESC' }) } };
}

async function call(w: WardenHandle, token: string, method: string, path: string): Promise<{ status: number; id: string; body: any }> {
  const res = await fetch(`${w.proxyUrl}/github${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(method !== 'GET' && method !== 'DELETE' && { 'content-type': 'application/json' }) }, ...(method !== 'GET' && method !== 'DELETE' && { body: JSON.stringify({ title: 'fix' }) }) });
  const text = await res.text();
  return { status: res.status, id: res.headers.get('warden-decision-id') ?? '', body: text ? JSON.parse(text) : undefined };
}

function expectStatus(r: { status: number }, status: number, step: string): void {
  if (r.status !== status) throw new Error(`audit run: ${step} answered ${r.status}, expected ${status}`);
}

/** Run the story on a fresh (or the given) Warden; `opts` are merged into its options. */
export async function runAuditStory(opts: WardenOptions = {}): Promise<AuditRun> {
  const gh = await startUpstream();
  const w = await startWarden({ ...opts, upstreams: auditUpstreams(gh.url), config: { step_up: { hold: '0s', ttl: '10m', retry_after: '1s' }, ...opts.config } });
  const task = await w.task({ user: { id: 'dana', roles: ['maintainer'] }, stage: 'plan', risk: 'low', scopes: ['github:write'] });
  const token = task.token;
  const read = await call(w, token, 'GET', '/repos/acme/app/issues');
  expectStatus(read, 200, 'read');
  const deniedWrite = await call(w, token, 'POST', '/repos/acme/app/issues');
  expectStatus(deniedWrite, 403, 'write in plan');
  expectStatus(await w.admin('PATCH', `/v1/tasks/${task.task_id}`, { stage: 'execute' }), 200, 'stage change');
  const write = await call(w, token, 'POST', '/repos/acme/app/issues');
  expectStatus(write, 200, 'write in execute');
  const stepUp = await call(w, token, 'DELETE', '/repos/acme/app/branches/old');
  expectStatus(stepUp, 401, 'delete');
  const approvalId = String(stepUp.body.approval_id);
  expectStatus(await w.admin('POST', `/v1/approvals/${approvalId}/approve`, { approver: 'sam', reason: 'branch is merged' }), 200, 'approve');
  const approved = await call(w, token, 'DELETE', '/repos/acme/app/branches/old');
  expectStatus(approved, 200, 'approved retry');
  expectStatus(await w.admin('DELETE', `/v1/tasks/${task.task_id}`), 200, 'revoke');
  const afterRevoke = await call(w, token, 'GET', '/repos/acme/app/issues');
  expectStatus(afterRevoke, 401, 'after revocation');
  await w.log();
  return {
    w,
    gh,
    taskId: task.task_id,
    approvalId,
    ids: { read: read.id, deniedWrite: deniedWrite.id, write: write.id, stepUp: stepUp.id, approved: approved.id, afterRevoke: afterRevoke.id },
    async close() {
      await w.close();
      await gh.close();
    },
  };
}
