// One policy evaluation of one call: build the input, run the engine, time it. Never throws: a
// failed evaluation is an Evaluation whose result is the coded error.

import { performance } from 'node:perf_hooks';
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
  // One clock for the metric and the trace's phase.
  const t0 = performance.now();
  const phase = call.phases?.start('evaluate', t0);
  let result: Evaluation['result'];
  let revision: string | undefined;
  try {
    const r = engine.evaluate(inputJson);
    result = { ok: true, decision: r.decision };
    revision = r.revision;
  } catch (err) {
    result = { ok: false, error: toWardenError(err) };
  }
  const t1 = performance.now();
  const evalNs = Math.round((t1 - t0) * 1e6);
  if (phase !== undefined) call.phases!.end(phase, !result.ok, t1);
  metrics.evalSeconds.observe(evalNs / 1e9);
  return { input, inputJson, revision: revision ?? engine.revision, evalNs, result };
}
