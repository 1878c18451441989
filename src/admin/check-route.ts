// POST /v1/check: a policy decision for a described call, without forwarding. The body is a
// policy input (at least `request`); `time` is filled in when absent. The decision is logged
// like any other, with outcome `check`-tagged path.

import { randomUUID } from 'node:crypto';
import { hrtime } from 'node:process';
import type { DecisionLog } from '../audit/decision-log.js';
import type { WardenConfig } from '../config/schema.js';
import { WardenError, toWardenError } from '../errors.js';
import type { PolicyEngine } from '../policy/engine.js';
import { timeInput } from '../policy/types.js';
import type { AdminRoute } from './route.js';

export function checkRoute(deps: { engine: PolicyEngine; log: DecisionLog; config: WardenConfig }): AdminRoute {
  return (req) => {
    if (req.path !== '/v1/check') return undefined;
    if (req.method !== 'POST') throw new WardenError('ADMIN_NOT_FOUND', `${req.method} /v1/check`);
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WardenError('ADMIN_BAD_REQUEST', 'body must be a policy input object');
    const request = body.request as Record<string, unknown> | undefined;
    if (typeof request !== 'object' || request === null || typeof request.method !== 'string' || typeof request.path !== 'string') {
      throw new WardenError('ADMIN_BAD_REQUEST', 'request.method and request.path are required');
    }
    const decisionId = randomUUID();
    const input = { ...body, time: body.time ?? timeInput(Date.now()) };
    const started = hrtime.bigint();
    try {
      const { decision, revision } = deps.engine.evaluate(JSON.stringify(input));
      deps.log.decision({ decision_id: decisionId, path: deps.config.policy.entrypoint, input, result: decision, revision, outcome: decision.decision === 'step_up' ? 'step_up' : decision.decision, status: 200, duration_ms: Number(hrtime.bigint() - started) / 1e6, upstream: typeof request.upstream === 'string' ? request.upstream : undefined });
      return { status: 200, body: { decision_id: decisionId, result: decision, revision } };
    } catch (err) {
      const e = toWardenError(err);
      deps.log.decision({ decision_id: decisionId, path: deps.config.policy.entrypoint, input, outcome: 'error', error: e.code, status: e.status, duration_ms: Number(hrtime.bigint() - started) / 1e6 });
      throw e;
    }
  };
}
