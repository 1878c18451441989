// A step_up decision: a denied approval for the identical call answers 403 with the approver's
// reason; otherwise an approval is requested (or the pending one for the identical call reused),
// and the request either waits (`step_up.hold`) or gets the RFC 9470 answer. An approval granted
// in time re-runs the policy with `input.approval`, so the policy still has the last word.

import type { ServerResponse } from 'node:http';
import type { DecisionRecord } from '../audit/decision-log.js';
import type { ErrorCode } from '../errors.js';
import type { AllowDecision, Decision, StepUpDecision } from '../policy/types.js';
import type { CallContext } from './call-context.js';
import type { StepUpGate } from './gates.js';
import { bindingOf, evaluate, refuse, type HandlerDeps } from './handler.js';
import { sendStepUp } from './respond.js';
import { compileMasks } from '../audit/mask.js';
import { buildDetail, buildSummary } from '../stepup/summary.js';

export interface StepUpFlow {
  readonly deps: HandlerDeps;
  readonly gate: StepUpGate;
  readonly ctx: CallContext;
  readonly res: ServerResponse;
  readonly rec: DecisionRecord;
  readonly decision: StepUpDecision;
  readonly allow: (deps: HandlerDeps, ctx: CallContext, res: ServerResponse, rec: DecisionRecord, d: AllowDecision) => Promise<void>;
}

function summaryOf(f: StepUpFlow): Record<string, unknown> {
  const { ctx } = f;
  return buildSummary({ request: ctx.request, mcp: ctx.mcp, task: ctx.principal.task, agent: ctx.principal.agent }, ctx.body.raw, f.deps.config.step_up.body_preview_bytes);
}

function deny(f: StepUpFlow, code: 'POLICY_DENIED' | 'APPROVAL_DENIED', reason: string | undefined, approvalId?: string, error?: ErrorCode): void {
  f.rec.approval = approvalId ?? f.rec.approval;
  refuse(f.res, f.ctx, f.rec, code, reason, error ?? (code === 'APPROVAL_DENIED' ? code : undefined));
}

async function finishWith(f: StepUpFlow, again: Decision): Promise<void> {
  if (again.decision === 'allow') return f.allow(f.deps, f.ctx, f.res, f.rec, again);
  deny(f, 'POLICY_DENIED', again.reason);
}

export async function runStepUp(f: StepUpFlow): Promise<void> {
  const { gate, ctx, rec, deps } = f;
  const binding = bindingOf(ctx);
  const digest = (ctx.digest ??= gate.digest(binding));
  const denial = await gate.findDenial(digest);
  if (denial) {
    deny(f, 'APPROVAL_DENIED', denial.reason, denial.id);
    return;
  }
  const approval = await gate.request({
    binding,
    digest,
    decision_id: ctx.decisionId,
    reason: f.decision.reason,
    risk: f.decision.risk,
    approvers: f.decision.approvers,
    summary: summaryOf(f),
    detail: buildDetail({ mcp: ctx.mcp, task: ctx.principal.task }, compileMasks(deps.config.decision_log.mask)),
    ...(ctx.principal.task && { not_after: Date.parse(ctx.principal.task.expires_at) }),
  });
  rec.approval = approval.id;
  let status = approval.status;
  const hold = deps.config.step_up.hold;
  if (status === 'pending' && hold > 0) status = await gate.wait(approval.id, hold, ctx.link.signal);
  if (status === 'approved') {
    const grant = await gate.findGrant(digest);
    if (grant) {
      ctx.approval = grant;
      await finishWith(f, evaluate(deps, ctx, rec, grant));
      return;
    }
    // An identical call that waited on the same approval spent it first (single use). Refuse this
    // duplicate as allow() refuses a lost consume, rather than a challenge naming a spent approval.
    deny(f, 'POLICY_DENIED', 'approval already used', approval.id, 'APPROVAL_CONFLICT');
    return;
  }
  if (status === 'denied') {
    const d = await gate.findDenial(digest);
    deny(f, 'APPROVAL_DENIED', d?.reason, approval.id);
    return;
  }
  if (status === 'aborted') return; // the client left; the approval stays pending
  rec.outcome = 'step_up';
  rec.status = ctx.mcp ? 200 : 401;
  sendStepUp(f.res, {
    decisionId: ctx.decisionId,
    approvalId: approval.id,
    expiresAt: approval.expires_at,
    reason: f.decision.reason,
    retryAfterSeconds: Math.max(1, Math.ceil(deps.config.step_up.retry_after / 1000)),
    mcp: ctx.mcp,
  });
}
