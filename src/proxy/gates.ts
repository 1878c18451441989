// What the request path needs from the identity, task and step-up domains. The sidecar wires the
// real implementations; the proxy depends only on these shapes.

import type { IncomingHttpHeaders } from 'node:http';
import type { AgentInput, ApprovalInput, McpInput, TaskInput } from '../policy/types.js';
import type { CallBinding } from '../stepup/binding.js';

export type { CallBinding };

export interface Principal {
  readonly agent: AgentInput;
  readonly task?: TaskInput;
}

export interface IdentityGate {
  /** Verify the caller; throws TOKEN_* coded errors. */
  authenticate(headers: IncomingHttpHeaders): Promise<Principal>;
}

export interface UsageGate {
  /** Count a forwarded call against the task (and its current stage). */
  recordCall(taskId: string, stage: string): void;
}

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

export type WaitOutcome = 'approved' | 'denied' | 'expired' | 'timeout' | 'aborted';

export interface StepUpGate {
  /** False when no approval of this task can exist: the call need not be hashed or looked up. */
  mayHaveApprovals(taskId: string | undefined): boolean;
  digest(binding: CallBinding): string;
  findGrant(digest: string): Promise<ApprovalInput | undefined>;
  findDenial(digest: string): Promise<{ id: string; approver: string; reason: string } | undefined>;
  /** Single use: true for exactly one caller per approval. */
  consume(approvalId: string): Promise<boolean>;
  request(req: ApprovalRequest): Promise<PendingApproval>;
  wait(approvalId: string, ms: number, signal: AbortSignal): Promise<WaitOutcome>;
}

export type { McpInput };
