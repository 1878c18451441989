import { describe, expect, it, onTestFinished } from 'vitest';
import { approvalsRoutes } from '../../../src/admin/approvals-routes.js';
import type { AdminRequest, AdminResponse } from '../../../src/admin/route.js';
import { SqliteApprovalStore } from '../../../src/store/sqlite/approval-store.js';
import { StepUpManager } from '../../../src/stepup/manager.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { httpBinding, summaryOf, tempStateDir } from '../stepup/fixtures.js';

async function setup() {
  const db = openDatabase(tempStateDir());
  const manager = new StepUpManager({ ttl: 60_000, body_preview_bytes: 0 }, new SqliteApprovalStore(db), undefined);
  onTestFinished(async () => {
    await manager.close();
    db.close();
  });
  const b = httpBinding();
  const a = await manager.request({ binding: b, decision_id: 'dec-1', reason: 'merge', risk: 'high', approvers: ['release'], summary: summaryOf(b) });
  const route = approvalsRoutes(manager);
  const call = async (method: string, path: string, body?: unknown): Promise<AdminResponse | undefined> => {
    const url = new URL(path, 'http://admin');
    const req: AdminRequest = { method, path: url.pathname, segments: url.pathname.split('/').filter(Boolean), query: url.searchParams, body };
    return route(req);
  };
  return { manager, id: a.id, call };
}

describe('approvalsRoutes', () => {
  it('lists by status and reads one approval', async () => {
    const { id, call } = await setup();
    const list = await call('GET', '/v1/approvals?status=pending');
    expect(list).toMatchObject({ status: 200, body: { approvals: [{ id, status: 'pending' }] } });
    expect(await call('GET', '/v1/approvals?status=approved')).toMatchObject({ body: { approvals: [] } });
    const one = await call('GET', `/v1/approvals/${id}`);
    expect(one).toMatchObject({ status: 200, body: { id, status: 'pending', reason: 'merge', approvers: ['release'] } });
    expect((one!.body as Record<string, unknown>).expires_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('approves with {approver, reason} and then answers conflict', async () => {
    const { id, call, manager } = await setup();
    expect(await call('POST', `/v1/approvals/${id}/approve`, { approver: 'alice' })).toMatchObject({ status: 200, body: { id, status: 'approved', approver: 'alice' } });
    expect((await manager.get(id))!.status).toBe('approved');
    await expect(call('POST', `/v1/approvals/${id}/deny`, { approver: 'bob', reason: 'no' })).rejects.toMatchObject({ code: 'APPROVAL_CONFLICT', status: 409 });
  });

  it('denies with a required reason', async () => {
    const { id, call } = await setup();
    await expect(call('POST', `/v1/approvals/${id}/deny`, { approver: 'bob' })).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST' });
    expect(await call('POST', `/v1/approvals/${id}/deny`, { approver: 'bob', reason: 'not now' })).toMatchObject({ status: 200, body: { status: 'denied', decision_reason: 'not now' } });
  });

  it.each([
    ['no body', undefined],
    ['array body', []],
    ['missing approver', { reason: 'x' }],
    ['empty approver', { approver: ' ' }],
    ['non-string approver', { approver: 7 }],
    ['unknown field', { approver: 'a', status: 'approved' }],
  ])('refuses %s with ADMIN_BAD_REQUEST', async (_name, body) => {
    const { id, call } = await setup();
    await expect(call('POST', `/v1/approvals/${id}/approve`, body)).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST', status: 400 });
  });

  it('answers ADMIN_NOT_FOUND for an unknown id and refuses a bad status filter', async () => {
    const { call } = await setup();
    await expect(call('GET', '/v1/approvals/nope')).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND', status: 404 });
    await expect(call('POST', '/v1/approvals/nope/approve', { approver: 'a' })).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    await expect(call('GET', '/v1/approvals?status=bogus')).rejects.toMatchObject({ code: 'ADMIN_BAD_REQUEST' });
  });

  it('leaves other paths and methods to other routes', async () => {
    const { id, call } = await setup();
    expect(await call('GET', '/v1/tasks')).toBeUndefined();
    expect(await call('DELETE', `/v1/approvals/${id}`)).toBeUndefined();
    expect(await call('GET', `/v1/approvals/${id}/approve`)).toBeUndefined();
    expect(await call('POST', `/v1/approvals/${id}/cancel`, {})).toBeUndefined();
  });
});
