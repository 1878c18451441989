// Admin API for approvals (DESIGN.md "Admin API"): list, read, approve, deny. Decisions go through
// the manager so that held requests are woken and events are emitted.

import { WardenError } from '../errors.js';
import { APPROVAL_STATUSES, type ApprovalStatus } from '../store/approvals.js';
import { approvalView } from '../stepup/approval-view.js';
import type { StepUpManager } from '../stepup/manager.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './route.js';

const MAX_APPROVER = 200;
const MAX_REASON = 1000;

function field(body: Record<string, unknown>, name: string, required: boolean, max: number): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw new WardenError('ADMIN_BAD_REQUEST', `${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '') throw new WardenError('ADMIN_BAD_REQUEST', `${name} must be a non-empty string`);
  if (v.length > max) throw new WardenError('ADMIN_BAD_REQUEST', `${name} is longer than ${max} characters`);
  return v;
}

function decisionBody(body: unknown, reasonRequired: boolean): { approver: string; reason: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WardenError('ADMIN_BAD_REQUEST', 'body must be a JSON object {approver, reason}');
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'approver' && k !== 'reason');
  if (unknown.length > 0) throw new WardenError('ADMIN_BAD_REQUEST', `unknown field ${unknown[0]}`);
  return { approver: field(o, 'approver', true, MAX_APPROVER)!, reason: field(o, 'reason', reasonRequired, MAX_REASON) };
}

function parseStatus(q: URLSearchParams): ApprovalStatus | undefined {
  const s = q.get('status');
  if (s === null || s === '') return undefined;
  if (!(APPROVAL_STATUSES as readonly string[]).includes(s)) throw new WardenError('ADMIN_BAD_REQUEST', `status must be one of ${APPROVAL_STATUSES.join(', ')}`);
  return s as ApprovalStatus;
}

export function approvalsRoutes(manager: StepUpManager): AdminRoute {
  return async (req: AdminRequest): Promise<AdminResponse | undefined> => {
    const [v1, resource, id, action, ...rest] = req.segments;
    if (v1 !== 'v1' || resource !== 'approvals' || rest.length > 0) return undefined;

    if (id === undefined) {
      if (req.method !== 'GET') return undefined;
      const approvals = (await manager.list(parseStatus(req.query))).map(approvalView);
      return { status: 200, body: { approvals } };
    }

    if (action === undefined) {
      if (req.method !== 'GET') return undefined;
      const a = await manager.get(id);
      if (!a) throw new WardenError('ADMIN_NOT_FOUND', `approval ${id}`);
      return { status: 200, body: approvalView(a) };
    }

    if (req.method !== 'POST' || (action !== 'approve' && action !== 'deny')) return undefined;
    // Unknown id answers 404 before a body fault, so a caller learns the id is wrong first.
    if (!(await manager.get(id))) throw new WardenError('ADMIN_NOT_FOUND', `approval ${id}`);
    const { approver, reason } = decisionBody(req.body, action === 'deny');
    const a = action === 'approve' ? await manager.approve(id, approver, reason) : await manager.deny(id, approver, reason!);
    if (!a) throw new WardenError('ADMIN_NOT_FOUND', `approval ${id}`);
    return { status: 200, body: approvalView(a) };
  };
}
