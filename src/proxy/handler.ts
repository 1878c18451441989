// The request handler: decide() returns one outcome; this answers it and records it, each from one
// exhaustive switch, and writes the decision line in `finally` so that no path skips it.

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNever, toWardenError, type WardenError } from '../errors.js';
import type { CallContext } from './call-context.js';
import { ClientLink } from './client-link.js';
import type { Outcome } from './outcome.js';
import { decide, type DropHeaders, type PipelineDeps } from './pipeline.js';
import { account, recordOf, type Answered } from './record.js';
import { sendDeny, sendError, sendStepUp } from './respond.js';
import { evaluate } from './evaluate.js';
import { forwardRewrite } from '../mcp/forward-rewrite.js';
import type { ToolDefinitionInput } from '../mcp/tool-digest.js';
import type { McpInput } from '../policy/types.js';
import type { Awaitable } from '../store/awaitable.js';

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
  const started = performance.now();
  deps.inflight.enter();
  const decisionId = randomUUID();
  const link = new ClientLink(res);
  let outcome: Outcome = { kind: 'client_gone', known: {} };
  let answered: Answered = { status: 0 };
  const phases = deps.tracing?.begin(started);
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
    const ended = performance.now();
    const rec = recordOf(outcome, answered, {
      decisionId,
      entrypoint: deps.config.policy.entrypoint,
      method: req.method ?? 'GET',
      durationMs: ended - started,
      clientGone: link.aborted && !res.writableFinished,
    });
    account(deps.log, deps.metrics, rec);
    if (phases) deps.tracing!.record({ phases, endAt: ended, headers: req.headers, decisionId, method: rec.method ?? 'GET', status: rec.status, outcome: rec.outcome, upstream: rec.upstream, error: rec.error });
    deps.inflight.leave();
  }
}

/** Answer the outcome; returns what was sent (a promise only while forwarding). */
function answer(deps: HandlerDeps, o: Outcome, res: ServerResponse, link: ClientLink, decisionId: string): Awaitable<Answered> {
  switch (o.kind) {
    case 'forward':
      return forward(deps, o, res, link);
    case 'refuse':
      return { status: sendDeny(res, { decisionId, code: o.code, reason: o.reason, mcp: o.mcp }) };
    case 'challenge': {
      const approvalUrl = deps.mcp.approvalUrl(o.approvalId);
      const status = sendStepUp(res, {
        decisionId,
        approvalId: o.approvalId,
        expiresAt: o.expiresAt,
        reason: o.reason,
        retryAfterSeconds: Math.max(1, Math.ceil(deps.config.step_up.retry_after / 1000)),
        mcp: o.mcp,
        ...(approvalUrl !== undefined && { approvalUrl }),
        ...(o.inputRequired !== undefined && { inputRequired: o.inputRequired }),
      });
      return { status };
    }
    case 'error':
      if (o.error.code === 'INTERNAL') deps.ops.error({ err: o.error, decision_id: decisionId }, 'request failed');
      if (link.aborted) return { status: 0 };
      return sendErrorAnswer(res, o.error, decisionId, o.closeConnection ? { connection: 'close' } : {}, o.known.mcp);
    case 'client_gone':
      return { status: 0 };
    default:
      return assertNever(o);
  }
}

function sendErrorAnswer(res: ServerResponse, e: WardenError, decisionId: string, headers: Record<string, string> = {}, mcp?: McpInput): Answered {
  return { status: sendError(res, e, decisionId, headers, mcp) };
}

/** Is this listed tool one the agent may call? Asked of the policy as a `listing` (DESIGN.md). */
function listingVisible(deps: HandlerDeps, call: CallContext): (tool: string, definition: ToolDefinitionInput | undefined) => boolean {
  return (tool, definition) => {
    const mcp: McpInput = { kind: 'listing', method: 'tools/call', tool, ...(definition && { tool_definition: definition }), ...(call.mcp?.protocol_version !== undefined && { protocol_version: call.mcp.protocol_version }), ...(call.mcp?.session_id !== undefined && { session_id: call.mcp.session_id }) };
    const ev = evaluate(deps.engine, deps.metrics, { ...call, mcp }, undefined);
    return ev.result.ok && ev.result.decision.decision !== 'deny';
  };
}

async function forward(deps: HandlerDeps, o: Outcome & { kind: 'forward' }, res: ServerResponse, link: ClientLink): Promise<Answered> {
  const { call, headers } = o;
  const hidden: string[] = [];
  // MCP upstreams stream: the agent leaving cancels the call; event streams are not cut by `timeout`.
  const streaming = call.mcp && {
    signal: link,
    rewrite: forwardRewrite(deps.mcp, { upstream: call.route.name, mcp: call.mcp, visible: listingVisible(deps, call), seal: o.seal, maxJsonBytes: MAX_LISTING_BYTES }, hidden),
  };
  try {
    const phase = call.phases?.start('forward');
    const status = await deps.upstreams.forward({ upstream: call.route.name, method: call.method, pathAndQuery: call.path + call.search, headers, body: call.body.raw, decisionId: call.decisionId, ...streaming }, res);
    if (phase !== undefined) call.phases!.end(phase);
    return { status, upstreamStatus: status, hiddenTools: hidden };
  } catch (err) {
    const e = toWardenError(err);
    if (e.code === 'INTERNAL') deps.ops.error({ err, decision_id: call.decisionId }, 'request failed');
    if (link.aborted) return { status: 0, error: e.code };
    return { ...sendErrorAnswer(res, e, call.decisionId, {}, call.mcp), error: e.code };
  }
}

/** Largest JSON answer read whole to filter a tools/list result. */
const MAX_LISTING_BYTES = 16 * 1024 * 1024;
