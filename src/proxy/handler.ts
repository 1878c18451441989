// The request handler: decide() returns one outcome; this answers it and records it, each from one
// exhaustive switch, and writes the decision line in `finally` so that no path skips it.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNever, toWardenError, type WardenError } from '../errors.js';
import type { CallContext } from './call-context.js';
import { ClientLink } from './client-link.js';
import { phased } from '../observability/phases.js';
import type { Outcome } from './outcome.js';
import { decide, type DropHeaders, type PipelineDeps } from './pipeline.js';
import { account, recordOf, type Answered } from './record.js';
import { sendDeny, sendError, sendStepUp } from './respond.js';

export { InflightCounter } from './inflight.js';
export type HandlerDeps = PipelineDeps;

export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { config } = deps;
  const identityHeader = config.identity.header.toLowerCase();
  const drop = new Map<string, ReadonlySet<string>>();
  for (const name of Object.keys(config.upstreams)) drop.set(name, new Set([identityHeader, ...deps.lanes.headerNames(name)]));

  return (req, res) => {
    void handle(deps, drop, req, res);
  };
}

async function handle(deps: HandlerDeps, drop: DropHeaders, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  deps.inflight.enter();
  const decisionId = randomUUID();
  const link = new ClientLink(res);
  let outcome: Outcome = { kind: 'client_gone', known: {} };
  let answered: Answered = { status: 0 };
  const phases = deps.tracing?.begin();
  try {
    outcome = await decide(deps, drop, req, decisionId, link, phases);
    answered = await answer(deps, outcome, res, link, decisionId);
  } catch (err) {
    // decide() and answer() return their failures; this is the last line of defence.
    const e = toWardenError(err);
    deps.ops.error({ err, decision_id: decisionId }, 'request failed');
    outcome = { kind: 'error', known: outcome.known, error: e };
    answered = link.aborted ? { status: 0 } : sendErrorAnswer(res, e, decisionId);
  } finally {
    const rec = recordOf(outcome, answered, {
      decisionId,
      entrypoint: deps.config.policy.entrypoint,
      method: req.method ?? 'GET',
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      clientGone: link.aborted && !res.writableFinished,
    });
    account(deps.log, deps.metrics, rec);
    if (phases) deps.tracing!.record({ phases, headers: req.headers, decisionId, method: rec.method ?? 'GET', status: rec.status, outcome: rec.outcome, upstream: rec.upstream, error: rec.error });
    deps.inflight.leave();
  }
}

/** Answer the outcome; returns what was sent. */
async function answer(deps: HandlerDeps, o: Outcome, res: ServerResponse, link: ClientLink, decisionId: string): Promise<Answered> {
  switch (o.kind) {
    case 'forward':
      return forward(deps, o.call, res, link, o.headers);
    case 'refuse':
      sendDeny(res, { decisionId, code: o.code, reason: o.reason, mcp: o.mcp });
      return { status: o.mcp ? 200 : 403 };
    case 'challenge':
      sendStepUp(res, {
        decisionId,
        approvalId: o.approvalId,
        expiresAt: o.expiresAt,
        reason: o.reason,
        retryAfterSeconds: Math.max(1, Math.ceil(deps.config.step_up.retry_after / 1000)),
        mcp: o.mcp,
      });
      return { status: o.mcp ? 200 : 401 };
    case 'error':
      if (o.error.code === 'INTERNAL') deps.ops.error({ err: o.error, decision_id: decisionId }, 'request failed');
      if (link.aborted) return { status: 0 };
      return sendErrorAnswer(res, o.error, decisionId, o.closeConnection ? { connection: 'close' } : {});
    case 'client_gone':
      return { status: 0 };
    default:
      return assertNever(o);
  }
}

function sendErrorAnswer(res: ServerResponse, e: WardenError, decisionId: string, headers: Record<string, string> = {}): Answered {
  sendError(res, e, decisionId, headers);
  return { status: e.status };
}

async function forward(deps: HandlerDeps, call: CallContext, res: ServerResponse, link: ClientLink, headers: Record<string, string | string[]>): Promise<Answered> {
  try {
    const status = await phased(call.phases, 'forward', () => deps.upstreams.forward({ upstream: call.route.name, method: call.method, pathAndQuery: call.path + call.search, headers, body: call.body.raw, decisionId: call.decisionId }, res));
    return { status, upstreamStatus: status };
  } catch (err) {
    const e = toWardenError(err);
    if (e.code === 'INTERNAL') deps.ops.error({ err, decision_id: call.decisionId }, 'request failed');
    if (link.aborted) return { status: 0, error: e.code };
    return { ...sendErrorAnswer(res, e, call.decisionId), error: e.code };
  }
}
