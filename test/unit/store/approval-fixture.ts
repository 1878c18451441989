// A new approval as the step-up manager would insert it, for the approval store tests.

import type { NewApproval } from '../../../src/store/approvals.js';

export const T0 = 1_750_000_000_000;

/** Expires a minute after T0 unless `over` says otherwise. */
export function newApproval(id: string, over: Partial<NewApproval> = {}): NewApproval {
  return {
    id,
    binding_digest: 'sha256:d1',
    task_id: 'task-1',
    agent_id: 'agent-1',
    upstream: 'github',
    method: 'POST',
    path: '/x',
    summary: { upstream: 'github', method: 'POST', path: '/x', query: {}, body_digest: 'sha256:b', size: 0 },
    decision_id: 'dec-1',
    reason: 'merge to main',
    risk: 'high',
    approvers: ['release-managers'],
    created_at: T0,
    expires_at: T0 + 60_000,
    ...over,
  };
}
