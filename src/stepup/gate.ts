// The request path's view of the step-up manager: what the pipeline and the step-up flow ask of
// approvals, with times as RFC 3339 strings. The sidecar wires stepUpGate(manager).

import type { ApprovalInput } from '../policy/types.js';
import { bindingDigest, type CallBinding } from './binding.js';
import type { StepUpManager, WaitResult } from './manager.js';

export interface ApprovalRequest {
  readonly binding: CallBinding;
  readonly digest: string;
  readonly decision_id: string;
  readonly reason: string | undefined;
  readonly risk: string | undefined;
  readonly approvers: readonly string[];
  readonly summary: Record<string, unknown>;
  /** Shown in the console only, never sent to the webhook (buildDetail). */
  readonly detail?: Record<string, unknown>;
  /** The task's expiry (unix ms): an approval never outlives its task. */
  readonly not_after?: number;
}

export interface PendingApproval {
  readonly id: string;
  readonly status: string;
  readonly expires_at: string;
}

export interface StepUpGate {
  /** False when no approval of this task can exist: the call need not be hashed or looked up. */
  mayHaveApprovals(taskId: string | undefined): boolean;
  digest(binding: CallBinding): string;
  findGrant(digest: string): Promise<ApprovalInput | undefined>;
  /** The approval if it was spent on this exact call (a later MCP round of the call continues on it). */
  spentGrant(approvalId: string, digest: string): Promise<ApprovalInput | undefined>;
  findDenial(digest: string): Promise<{ id: string; approver: string; reason: string } | undefined>;
  /** Single use: true for exactly one caller per approval. */
  consume(approvalId: string): Promise<boolean>;
  request(req: ApprovalRequest): Promise<PendingApproval>;
  wait(approvalId: string, ms: number, signal: AbortSignal): Promise<WaitResult>;
}

export function stepUpGate(manager: StepUpManager): StepUpGate {
  return {
    mayHaveApprovals: (taskId) => manager.mayHaveApprovals(taskId),
    digest: (b) => bindingDigest(b),
    findGrant: (d) => manager.findGrant(d),
    spentGrant: (id, d) => manager.spentGrant(id, d),
    findDenial: (d) => manager.findDenial(d),
    consume: (id) => manager.consume(id),
    async request(req) {
      const a = await manager.request({ ...req, approvers: [...req.approvers] });
      return { id: a.id, status: a.status, expires_at: new Date(a.expires_at).toISOString() };
    },
    wait: (id, ms, signal) => manager.wait(id, ms, signal),
  };
}
