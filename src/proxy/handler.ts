// The request lifecycle of DESIGN.md: receive → route → identify → build input → evaluate →
// allow | deny | step_up → inject the lane's credential → forward → audit. The audit record is
// written in `finally`, so no path skips it. Start from deny: only a parsed allow forwards.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { WardenConfig } from '../config/schema.js';
import type { Credential, CredentialLanes } from '../credentials/lanes.js';
import type { DecisionLog, DecisionRecord } from '../audit/decision-log.js';
import type { Metrics } from '../observability/metrics.js';
import { WardenError, assertNever, toWardenError, type ErrorCode } from '../errors.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { Decision } from '../policy/types.js';
import { describeBody, readRequestBody } from './body.js';
import type { IdentityGate, StepUpGate, UsageGate } from './gates.js';
import { checkHeaderBudget, planRequestHeaders, refuseConnectionListed, refuseOverrides } from './headers.js';
import { mcpInput } from './mcp.js';
import { normalizeRest, parseQuery, splitTarget } from './path.js';
import { buildInput } from './request-input.js';
import { sendDeny, sendError, type DenyAnswer } from './respond.js';
import type { Router } from './router.js';
import { runStepUp } from './step-up-flow.js';
import type { Upstreams } from './upstreams.js';
import type { CallContext } from './call-context.js';
import { ClientLink } from './client-link.js';

export interface HandlerDeps {
  readonly config: WardenConfig;
  readonly router: Router;
  readonly engine: PolicyEngine;
  readonly upstreams: Upstreams;
  readonly lanes: CredentialLanes;
  readonly log: DecisionLog;
  readonly metrics: Metrics;
  readonly ops: Logger;
  readonly identity: IdentityGate;
  readonly usage: UsageGate | undefined;
  readonly stepUp: StepUpGate | undefined;
  readonly isClosing: () => boolean;
  /** Requests not yet audited; close() and tests wait for it to reach zero. */
  readonly inflight: InflightCounter;
}

export class InflightCounter {
  #count = 0;
  #idle: (() => void)[] = [];
  get count(): number {
    return this.#count;
  }
  enter(): void {
    this.#count++;
  }
  leave(): void {
    if (--this.#count === 0) for (const r of this.#idle.splice(0)) r();
  }
  /** Resolves once every request that started has written its audit record. */
  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }
}

export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { config } = deps;
  const identityHeader = config.identity.header.toLowerCase();
  const dropByUpstream = new Map<string, ReadonlySet<string>>();
  for (const name of Object.keys(config.upstreams)) dropByUpstream.set(name, new Set([identityHeader, ...deps.lanes.headerNames(name)]));

  return (req, res) => {
    void handle(deps, dropByUpstream, req, res);
  };
}

async function handle(deps: HandlerDeps, dropByUpstream: Map<string, ReadonlySet<string>>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  deps.inflight.enter();
  const decisionId = randomUUID();
  const link = new ClientLink(res);
  const rec: DecisionRecord = { decision_id: decisionId, path: deps.config.policy.entrypoint, outcome: 'error', status: 0, duration_ms: 0, method: req.method ?? 'GET' };
  try {
    if (deps.isClosing()) {
      sendError(res, new WardenError('SHUTTING_DOWN'), decisionId, { connection: 'close' });
      rec.status = 503;
      rec.error = 'SHUTTING_DOWN';
      return;
    }
    const ctx = await prepare(deps, dropByUpstream, req, decisionId, link, rec);
    await decideAndAct(deps, ctx, res, rec);
  } catch (err) {
    const e = toWardenError(err);
    rec.error = e.code;
    rec.outcome = 'error';
    if (e.code === 'INTERNAL') deps.ops.error({ err, decision_id: decisionId }, 'request failed');
    if (!link.aborted) {
      sendError(res, e, decisionId);
      rec.status = e.status;
    }
  } finally {
    if (link.aborted && !res.writableFinished) {
      rec.outcome = 'client_abort';
      rec.status = 499;
    }
    rec.duration_ms = Number(process.hrtime.bigint() - started) / 1e6;
    deps.log.decision(rec);
    deps.metrics.requests.inc({ decision: rec.outcome, upstream: rec.upstream ?? 'none', status: String(rec.status) });
    if (rec.error) deps.metrics.errors.inc({ code: rec.error });
    deps.inflight.leave();
  }
}

/** Route, identify, read the body and build the input: everything before the policy. */
async function prepare(deps: HandlerDeps, dropByUpstream: Map<string, ReadonlySet<string>>, req: IncomingMessage, decisionId: string, link: ClientLink, rec: DecisionRecord): Promise<CallContext> {
  const { rawPath, rawQuery } = splitTarget(req.url ?? '/');
  const route = deps.router.match(rawPath);
  if (!route) throw new WardenError('ROUTE_NOT_FOUND', rawPath.slice(0, 200));
  rec.upstream = route.name;
  const path = normalizeRest(route.rest, { pathParameters: route.upstream.path_parameters });
  const { query, search } = parseQuery(rawQuery);
  refuseConnectionListed(req.headers);

  const principal = await deps.identity.authenticate(req.headers);
  rec.agent = principal.agent.id;
  rec.task = principal.task?.id;
  rec.stage = principal.task?.stage;

  // A JSON body is read whatever its Content-Type (an MCP server, like many frameworks, parses it
  // anyway): otherwise `text/plain` would hide the tool (and a batch) from the policy.
  const body = describeBody(await readRequestBody(req, deps.config.policy.max_body_bytes, link), req.headers, { maxDepth: deps.config.policy.max_json_depth });
  refuseOverrides(req.headers, query, body.form);
  const mcp = route.upstream.mcp ? mcpInput(body.parsed) : undefined;
  const headers = planRequestHeaders(req.headers, dropByUpstream.get(route.name)!);
  const method = (req.method ?? 'GET').toUpperCase();
  const request = {
    id: decisionId,
    method,
    upstream: route.name,
    path,
    query,
    headers: headers.input,
    body: body.parsed,
    ...(body.form && { form: body.form }),
    body_digest: body.digest,
    ...(body.contentType !== undefined && { content_type: body.contentType }),
    size: body.raw.length,
  };
  return { decisionId, link, route, path, search, method, body, mcp, principal, forwardHeaders: headers.forward, request };
}

/** Evaluate once, with an optional approval grant in the input. */
export function evaluate(deps: HandlerDeps, ctx: CallContext, rec: DecisionRecord, approval?: CallContext['approval']): Decision {
  const input = buildInput({ request: ctx.request, mcp: ctx.mcp, agent: ctx.principal.agent, task: ctx.principal.task, approval, nowMs: Date.now() });
  const json = JSON.stringify(input);
  rec.input = input;
  rec.input_json = json;
  const t0 = process.hrtime.bigint();
  try {
    const { decision, revision } = deps.engine.evaluate(json);
    rec.revision = revision;
    rec.result = decision;
    return decision;
  } finally {
    const ns = Number(process.hrtime.bigint() - t0);
    rec.eval_ns = ns;
    deps.metrics.evalSeconds.observe(ns / 1e9);
    rec.revision ??= deps.engine.revision;
  }
}

async function decideAndAct(deps: HandlerDeps, ctx: CallContext, res: ServerResponse, rec: DecisionRecord): Promise<void> {
  const gate = deps.stepUp;
  if (gate && gate.mayHaveApprovals(ctx.principal.task?.id)) {
    ctx.digest = gate.digest(bindingOf(ctx));
    ctx.approval = await gate.findGrant(ctx.digest);
  }
  const decision = evaluate(deps, ctx, rec, ctx.approval);
  if (deps.config.policy.mode === 'dry-run') {
    rec.outcome = 'dry_run';
    rec.lane = 'lane' in decision && decision.lane && deps.lanes.has(ctx.route.name, decision.lane) ? decision.lane : undefined;
    await forward(deps, ctx, res, rec, outgoingHeaders(deps, ctx, decision.headers, rec.lane === undefined ? undefined : deps.lanes.resolve(ctx.route.name, rec.lane)));
    return;
  }
  switch (decision.decision) {
    case 'allow':
      await allow(deps, ctx, res, rec, decision);
      return;
    case 'deny':
      refuse(res, ctx, rec, 'POLICY_DENIED', decision.reason);
      return;
    case 'step_up':
      if (!gate) {
        // No approval workflow configured: a step-up can never be satisfied, so it is a deny.
        refuse(res, ctx, rec, 'POLICY_DENIED', decision.reason);
        return;
      }
      await runStepUp({ deps, gate, ctx, res, rec, decision, allow });
      return;
    default:
      assertNever(decision);
  }
}

/**
 * Answer a refusal (403, or HTTP 200 with a JSON-RPC error for MCP) and record it. `error` names
 * the cause when it is not simply the policy's deny.
 */
export function refuse(res: ServerResponse, ctx: CallContext, rec: DecisionRecord, code: DenyAnswer['code'], reason: string | undefined, error?: ErrorCode): void {
  rec.outcome = 'deny';
  rec.status = ctx.mcp ? 200 : 403;
  if (error) rec.error = error;
  sendDeny(res, { decisionId: ctx.decisionId, code, reason, mcp: ctx.mcp });
}

/** An allow: check the lane, spend a matching approval once, count the call, forward. */
async function allow(deps: HandlerDeps, ctx: CallContext, res: ServerResponse, rec: DecisionRecord, decision: Decision & { decision: 'allow' }): Promise<void> {
  const lanes = deps.config.upstreams[ctx.route.name]!.lanes;
  const needsLane = Object.keys(lanes).length > 0 || decision.lane !== undefined;
  if (needsLane && (decision.lane === undefined || !deps.lanes.has(ctx.route.name, decision.lane))) {
    refuse(res, ctx, rec, 'LANE_UNDEFINED', undefined, 'LANE_UNDEFINED');
    return;
  }
  // The credential first: a call that cannot go out (UPSTREAM_CREDENTIAL_UNAVAILABLE) must neither
  // spend a single-use approval nor count as a forwarded call.
  const credential = decision.lane === undefined ? undefined : deps.lanes.resolve(ctx.route.name, decision.lane);
  // Likewise a request that would not fit the upstream's header limits (HEADERS_TOO_LARGE).
  const headers = outgoingHeaders(deps, ctx, decision.headers, credential);
  if (ctx.approval) {
    if (!(await deps.stepUp!.consume(ctx.approval.id))) {
      // Another request spent the grant first: single use holds, this one is refused.
      refuse(res, ctx, rec, 'POLICY_DENIED', 'approval already used', 'APPROVAL_CONFLICT');
      return;
    }
    rec.approval = ctx.approval.id;
  }
  rec.outcome = 'allow';
  rec.lane = decision.lane;
  const task = ctx.principal.task;
  if (task && deps.usage) deps.usage.recordCall(task.id, task.stage);
  await forward(deps, ctx, res, rec, headers);
}

/** The headers that go upstream: the agent's, the policy's, the lane credential and the decision id, within the upstream's budget. */
function outgoingHeaders(deps: HandlerDeps, ctx: CallContext, policyHeaders: Record<string, string>, cred: Credential | undefined): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { ...ctx.forwardHeaders, ...policyHeaders, 'warden-decision-id': ctx.decisionId };
  if (cred !== undefined) headers[cred.header] = cred.value;
  const up = ctx.route.upstream;
  checkHeaderBudget(`${ctx.method} ${ctx.path}${ctx.search} HTTP/1.1`, headers, ctx.body.raw.length, { count: up.max_header_count, bytes: up.max_header_bytes });
  return headers;
}

async function forward(deps: HandlerDeps, ctx: CallContext, res: ServerResponse, rec: DecisionRecord, headers: Record<string, string | string[]>): Promise<void> {
  const status = await deps.upstreams.forward({ upstream: ctx.route.name, method: ctx.method, pathAndQuery: ctx.path + ctx.search, headers, body: ctx.body.raw, decisionId: ctx.decisionId }, res);
  rec.upstream_status = status;
  rec.status = status;
}

export function bindingOf(ctx: CallContext): Parameters<StepUpGate['digest']>[0] {
  const base = { upstream: ctx.route.name, method: ctx.method, path: ctx.path, query: ctx.request.query, ...(ctx.principal.task && { task_id: ctx.principal.task.id }), agent_id: ctx.principal.agent.id };
  if (ctx.mcp) return { ...base, mcp: { method: ctx.mcp.method, ...(ctx.mcp.tool !== undefined && { tool: ctx.mcp.tool }), ...(ctx.mcp.arguments !== undefined && { arguments: ctx.mcp.arguments }) } };
  return { ...base, body_digest: ctx.body.digest };
}
