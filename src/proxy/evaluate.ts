// One policy evaluation of one call: build the input, run the engine, time it. Never throws: a
// failed evaluation is an Evaluation whose result is the coded error.

import { hrtime } from 'node:process';
import type { Metrics } from '../observability/metrics.js';
import { toWardenError } from '../errors.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { ApprovalInput } from '../policy/types.js';
import type { CallContext } from './call-context.js';
import type { Evaluation } from './outcome.js';
import { buildInput, serializeInput } from './request-input.js';

export function evaluate(engine: PolicyEngine, metrics: Metrics, call: CallContext, approval: ApprovalInput | undefined): Evaluation {
  const input = buildInput({ request: call.request, mcp: call.mcp, agent: call.principal.agent, task: call.principal.task, approval, nowMs: Date.now() });
  const inputJson = serializeInput(input);
  const phase = call.phases?.start('evaluate');
  const t0 = hrtime.bigint();
  let result: Evaluation['result'];
  let revision: string | undefined;
  try {
    const r = engine.evaluate(inputJson);
    result = { ok: true, decision: r.decision };
    revision = r.revision;
  } catch (err) {
    result = { ok: false, error: toWardenError(err) };
  }
  const evalNs = Number(hrtime.bigint() - t0);
  if (phase !== undefined) call.phases!.end(phase, !result.ok);
  metrics.evalSeconds.observe(evalNs / 1e9);
  return { input, inputJson, revision: revision ?? engine.revision, evalNs, result };
}
