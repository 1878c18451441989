// A step_up decision, from the request's side: a denied approval for the identical call stands;
// otherwise an approval is requested (or the pending one for the identical call joined), and the
// request either waits (`step_up.hold`) or is told to come back. The flow returns what happened;
// the pipeline answers it, and re-runs the policy with a grant, so the policy has the last word.

import type { ApprovalInput, StepUpDecision } from '../policy/types.js';
import type { CallBinding } from './binding.js';
import type { StepUpGate } from './gate.js';

export interface StepUpCall {
  readonly binding: CallBinding;
  /** bindingDigest(binding), when the caller has it already. */
  readonly digest: string | undefined;
  readonly decisionId: string;
  /** What the approver is shown (buildSummary); built only when an approval is requested. */
  readonly summary: () => Record<string, unknown>;
  /** What only the console shows (buildDetail); built only when an approval is requested. */
  readonly detail: () => Record<string, unknown>;
  /** The task's expiry (unix ms). */
  readonly notAfter: number | undefined;
  /** Fires when the client goes away; asked for only when the request is held. */
  readonly signal: () => AbortSignal;
}

export type StepUpResult =
  /** An approver denied this exact call (now, or while it was held). */
  | { readonly kind: 'denied'; readonly approvalId: string; readonly reason: string | undefined }
  /** Approved while held: re-run the policy with `grant` as `input.approval`. */
  | { readonly kind: 'granted'; readonly approvalId: string; readonly grant: ApprovalInput }
  /** Approved, but an identical call that waited on the same approval spent it first. */
  | { readonly kind: 'spent'; readonly approvalId: string }
  /** Not decided (yet): the agent is told to retry once it is. */
  | { readonly kind: 'pending'; readonly approvalId: string; readonly expiresAt: string }
  | { readonly kind: 'client_gone'; readonly approvalId: string }
  | { readonly kind: 'shutting_down'; readonly approvalId: string };

export async function runStepUp(gate: StepUpGate, call: StepUpCall, decision: StepUpDecision, holdMs: number): Promise<StepUpResult> {
  const digest = call.digest ?? gate.digest(call.binding);
  const denial = await gate.findDenial(digest);
  if (denial) return { kind: 'denied', approvalId: denial.id, reason: denial.reason };
  const approval = await gate.request({
    binding: call.binding,
    digest,
    decision_id: call.decisionId,
    reason: decision.reason,
    risk: decision.risk,
    approvers: decision.approvers,
    summary: call.summary(),
    detail: call.detail(),
    ...(call.notAfter !== undefined && { not_after: call.notAfter }),
  });
  const approvalId = approval.id;
  const status = approval.status === 'pending' && holdMs > 0 ? await gate.wait(approvalId, holdMs, call.signal()) : approval.status;
  switch (status) {
    case 'approved': {
      const grant = await gate.findGrant(digest);
      return grant ? { kind: 'granted', approvalId, grant } : { kind: 'spent', approvalId };
    }
    case 'denied':
      return { kind: 'denied', approvalId, reason: (await gate.findDenial(digest))?.reason };
    case 'aborted':
      return { kind: 'client_gone', approvalId }; // the approval stays pending
    case 'closed':
      return { kind: 'shutting_down', approvalId };
    default:
      // pending, expired, timeout (and any other stored status): come back later.
      return { kind: 'pending', approvalId, expiresAt: approval.expires_at };
  }
}
