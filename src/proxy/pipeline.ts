// decide(): the request lifecycle of DESIGN.md up to the answer — route → identify → read → build
// input → evaluate → allow | deny | step_up — as one function that returns an Outcome. It answers
// nothing and records nothing (handler.ts does both from the outcome). Start from deny: only a
// parsed allow forwards.

import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { metaTraceContext, type Phases } from '../observability/phases.js';
import type { Tracing } from '../observability/tracing.js';
import type { DecisionLog } from '../audit/decision-log.js';
import { compileMasks } from '../audit/mask.js';
import type { WardenConfig } from '../config/schema.js';
import type { LaneCredential, LaneCredentials } from '../credentials/lane-credentials.js';
import { WardenError, assertNever, toWardenError } from '../errors.js';
import type { McpDeps } from '../mcp/deps.js';
import type { Awaitable } from '../store/awaitable.js';
import { mcpMessage } from '../mcp/message.js';
import { checkMcpHeaders } from '../mcp/request-headers.js';
import { answersInputRequired, openRetry, pendingInputRequired, roundSealer, stateOwner, type Binding } from './mrtr.js';
import { allowedOriginSet, requestOriginAllowed } from '../mcp/origin.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { AllowDecision, ApprovalInput, CredentialNarrowing, Decision, McpInput, StepUpDecision } from '../policy/types.js';
import { bindingFromInput, type CallBinding } from '../stepup/binding.js';
import { runStepUp } from '../stepup/flow.js';
import type { StepUpGate } from '../stepup/gate.js';
import { buildDetail, buildSummary } from '../stepup/summary.js';
import { describeBody, readRequestBody } from './body.js';
import type { CallContext } from './call-context.js';
import type { ClientLink } from './client-link.js';
import { evaluate } from './evaluate.js';
import type { IdentityGate, UsageGate } from './gates.js';
import { checkHeaderBudget, planRequestHeaders, refuseConnectionListed, refuseNonAsciiValues, refuseOverrides } from './headers.js';
import type { InflightCounter } from './inflight.js';
import { learn, type Known, type Outcome } from './outcome.js';
import { normalizeRest, parseQuery, splitTarget } from './path.js';
import type { Router } from './router.js';
import type { Upstreams } from './upstreams.js';

export interface PipelineDeps {
  readonly config: WardenConfig;
  readonly router: Router;
  readonly engine: PolicyEngine;
  readonly upstreams: Upstreams;
  readonly lanes: Pick<LaneCredentials, 'headerNames' | 'has' | 'resolve'>;
  readonly log: DecisionLog;
  readonly metrics: Metrics;
  readonly ops: Logger;
  readonly identity: IdentityGate;
  readonly usage: UsageGate | undefined;
  readonly stepUp: StepUpGate | undefined;
  readonly isClosing: () => boolean;
  /** Requests not yet audited; close() and tests wait for it to reach zero. */
  readonly inflight: InflightCounter;
  /** OpenTelemetry traces (`tracing`); undefined when off, and then no phase is timed. */
  readonly tracing?: Tracing | undefined;
  readonly mcp: McpDeps;
}

/** Headers never forwarded upstream, by upstream: the identity header and the lanes' headers. */
export type DropHeaders = ReadonlyMap<string, ReadonlySet<string>>;

type RefusalError = 'LANE_UNDEFINED' | 'APPROVAL_CONFLICT' | 'APPROVAL_DENIED';

export async function decide(deps: PipelineDeps, drop: DropHeaders, req: IncomingMessage, decisionId: string, link: ClientLink, phases?: Phases): Promise<Outcome> {
  if (deps.isClosing()) return { kind: 'error', known: {}, error: new WardenError('SHUTTING_DOWN'), closeConnection: true };
  let known: Known = {};
  try {
    if (!requestOriginAllowed(req.headers, allowedOriginSet(deps.config.allowed_origins))) throw new WardenError('ORIGIN_REFUSED');
    const { rawPath, rawQuery } = splitTarget(req.url ?? '/');
    const routing = phases?.start('route');
    const route = deps.router.match(rawPath);
    if (routing !== undefined) phases!.end(routing, !route);
    if (!route) throw new WardenError('ROUTE_NOT_FOUND', rawPath.slice(0, 200));
    known = { upstream: route.name };
    const path = normalizeRest(route.rest, { pathParameters: route.upstream.path_parameters });
    const { query, search } = parseQuery(rawQuery);
    refuseConnectionListed(req.headers);
    refuseNonAsciiValues(req.headers);

    const identifying = phases?.start('identify');
    const principal = await deps.identity.authenticate(req.headers);
    if (identifying !== undefined) phases!.end(identifying);
    known = { upstream: route.name, agent: principal.agent.id, task: principal.task?.id, stage: principal.task?.stage };

    // A JSON body is read whatever its Content-Type (an MCP server, like many frameworks, parses it
    // anyway): otherwise `text/plain` would hide the tool (and a batch) from the policy.
    const bodyOptions = { maxDepth: deps.config.policy.max_json_depth };
    const sent = describeBody(await readRequestBody(req, deps.config.policy.max_body_bytes, link), req.headers, bodyOptions);
    refuseOverrides(req.headers, query, sent.form);
    const method = (req.method ?? 'GET').toUpperCase();
    const message = route.upstream.mcp ? mcpMessage({ httpMethod: method, headers: req.headers, body: sent.parsed, answered: (s, id) => deps.mcp.serverRequests.answered(s, id) }) : undefined;
    if (message) known = learn(known, { mcp: message });
    const mcp = message && (await mcpOf(deps, route.name, method, req, sent.parsed, message));
    if (phases && mcp) phases.meta = metaTraceContext(sent.parsed);
    const retry = openRetry(deps.mcp.stateKey, mcp, sent.parsed, stateOwner(principal), deps.mcp.now());
    const body = retry ? describeBody(retry.body, req.headers, bodyOptions) : sent;
    const headers = planRequestHeaders(req.headers, drop.get(route.name)!);
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
    const call: CallContext = { decisionId, link, route, path, search, method, body, mcp, retry: retry?.claims, principal, forwardHeaders: headers.forward, request, phases };
    // judge() returns its failures as outcomes: it never rejects, so no await is needed here.
    return judge(deps, call, known);
  } catch (err) {
    return { kind: 'error', known, error: toWardenError(err) };
  }
}

/**
 * `input.mcp` of a request to an MCP upstream: its message kind and target, the 2026-07-28 headers
 * checked against the body (a mismatch is refused, never forwarded), and for a tools/call the
 * definition of the tool as last listed, with its pin status.
 */
async function mcpOf(deps: PipelineDeps, upstream: string, method: string, req: IncomingMessage, body: unknown, mcp: McpInput): Promise<McpInput> {
  if (method === 'POST') {
    const bad = checkMcpHeaders(req.headers, body, mcp.tool === undefined ? undefined : deps.mcp.tools.declarations(upstream, mcp.tool));
    if (bad) throw new WardenError('MCP_HEADER_MISMATCH', `${bad.header}: ${bad.problem}`);
  }
  if (mcp.method !== 'tools/call' || mcp.tool === undefined) return mcp;
  const definition = await deps.mcp.tools.definition(upstream, mcp.tool);
  return definition === undefined ? mcp : { ...mcp, tool_definition: definition };
}

/** Evaluate (with a grant of this exact call, if one exists) and act on the decision. */
async function judge(deps: PipelineDeps, call: CallContext, before: Known): Promise<Outcome> {
  let known = before;
  try {
    const gate = deps.stepUp;
    const { retry } = call;
    let digest: string | undefined;
    let grant: ApprovalInput | undefined;
    if (gate && (retry || gate.mayHaveApprovals(call.principal.task?.id))) {
      digest = gate.digest(bindingOf(call));
      if (retry && retry.call !== digest) throw new WardenError('MCP_REQUEST_STATE_INVALID', 'issued for another call');
      // A later round of a call whose approval was spent on it continues on that approval.
      grant = retry?.continuation ? await gate.spentGrant(retry.approval, digest) : await gate.findGrant(digest);
      if (retry?.continuation && !grant) throw new WardenError('MCP_REQUEST_STATE_INVALID', 'its approval was not spent on this call');
    } else if (retry) throw new WardenError('MCP_REQUEST_STATE_INVALID', 'no approval workflow is configured');
    const ev = evaluate(deps.engine, deps.metrics, call, grant);
    known = learn(known, { evaluation: ev });
    if (!ev.result.ok) return { kind: 'error', known, error: ev.result.error };
    const decision = ev.result.decision;
    // dryRun() and admit() return their failures as outcomes (never reject).
    if (deps.config.policy.mode === 'dry-run') return dryRun(deps, call, known, decision);
    switch (decision.decision) {
      case 'allow':
        return admit(deps, call, known, decision, grant && { grant, digest: digest!, spent: retry?.continuation === true });
      case 'deny':
        return refuse(call, known, 'POLICY_DENIED', decision.reason);
      case 'step_up':
        // No approval workflow configured: a step-up can never be satisfied, so it is a deny.
        if (!gate) return refuse(call, known, 'POLICY_DENIED', decision.reason);
        return await stepUp(deps, gate, call, known, decision, digest);
      default:
        return assertNever(decision);
    }
  } catch (err) {
    return { kind: 'error', known, error: toWardenError(err) };
  }
}

function refuse(call: CallContext, known: Known, code: 'POLICY_DENIED' | 'APPROVAL_DENIED' | 'LANE_UNDEFINED', reason: string | undefined, error?: RefusalError): Outcome {
  return { kind: 'refuse', known, mcp: call.mcp, code, reason, ...(error && { error }) };
}

/** Dry-run: forward whatever the policy said, with the lane it named when the upstream has it. */
async function dryRun(deps: PipelineDeps, call: CallContext, known: Known, decision: Decision): Promise<Outcome> {
  const lane = 'lane' in decision && decision.lane && deps.lanes.has(call.route.name, decision.lane) ? decision.lane : undefined;
  const withLane = learn(known, { lane });
  try {
    const narrowing = decision.decision === 'deny' ? undefined : decision.credential;
    const credential = lane === undefined ? undefined : await credentialFor(deps, call, lane, narrowing);
    const headers = outgoingHeaders(call, decision.headers, credential);
    return { kind: 'forward', mode: 'dry_run', known: learn(withLane, { credential: credential?.log }), call, headers };
  } catch (err) {
    return { kind: 'error', known: withLane, error: toWardenError(err) };
  }
}

/** An approval this call passes on: spent now, or (a later 2026-07-28 round of the call) already spent on it. */
interface Approved {
  readonly grant: ApprovalInput;
  /** Binding digest of the call. */
  readonly digest: string;
  readonly spent: boolean;
}

/** An allow: check the lane, spend a matching approval once, count the call. */
async function admit(deps: PipelineDeps, call: CallContext, known: Known, decision: AllowDecision, approved: Approved | undefined): Promise<Outcome> {
  try {
    const lanes = deps.config.upstreams[call.route.name]!.lanes;
    const needsLane = Object.keys(lanes).length > 0 || decision.lane !== undefined;
    if (needsLane && (decision.lane === undefined || !deps.lanes.has(call.route.name, decision.lane))) {
      return refuse(call, known, 'LANE_UNDEFINED', undefined, 'LANE_UNDEFINED');
    }
    // The credential first: a call that cannot go out (UPSTREAM_CREDENTIAL_UNAVAILABLE, or an
    // authorization server down for a just-in-time one: CREDENTIAL_ISSUER_UNAVAILABLE) must neither
    // spend a single-use approval nor count as a forwarded call.
    const credential = decision.lane === undefined ? undefined : await credentialFor(deps, call, decision.lane, decision.credential);
    // Likewise a request that would not fit the upstream's header limits (HEADERS_TOO_LARGE).
    const headers = outgoingHeaders(call, decision.headers, credential);
    let admitted = known;
    let seal: ((inner: string | undefined) => string) | undefined;
    if (approved) {
      // Another request spent the grant first: single use holds, this one is refused.
      if (!approved.spent && !(await deps.stepUp!.consume(approved.grant.id))) return refuse(call, known, 'POLICY_DENIED', 'approval already used', 'APPROVAL_CONFLICT');
      admitted = learn(admitted, { approval: approved.grant.id });
      if (answersInputRequired(call.mcp)) seal = roundSealer(bindingFor(deps, call, approved.digest, approved.grant.id), deps.config.step_up.ttl, deps.mcp.now);
    }
    const task = call.principal.task;
    if (task && deps.usage) deps.usage.recordCall(task.id, task.stage);
    return { kind: 'forward', mode: 'allow', known: learn(admitted, { lane: decision.lane, credential: credential?.log }), call, headers, ...(seal && { seal }) };
  } catch (err) {
    return { kind: 'error', known, error: toWardenError(err) };
  }
}

async function stepUp(deps: PipelineDeps, gate: StepUpGate, call: CallContext, known: Known, decision: StepUpDecision, knownDigest: string | undefined): Promise<Outcome> {
  const { step_up } = deps.config;
  const task = call.principal.task;
  const digest = knownDigest ?? gate.digest(bindingOf(call));
  const phase = call.phases?.start('step_up');
  const r = await runStepUp(
    gate,
    {
      binding: bindingOf(call),
      digest,
      decisionId: call.decisionId,
      summary: () => buildSummary({ request: call.request, mcp: call.mcp, task, agent: call.principal.agent }, call.body.raw, step_up.body_preview_bytes),
      detail: () => buildDetail({ mcp: call.mcp, task }, compileMasks(deps.config.decision_log.mask)),
      notAfter: task && Date.parse(task.expires_at),
      signal: () => call.link.signal,
    },
    decision,
    step_up.hold,
  );
  if (phase !== undefined) call.phases!.end(phase);
  const withApproval = learn(known, { approval: r.approvalId });
  switch (r.kind) {
    case 'denied':
      return refuse(call, withApproval, 'APPROVAL_DENIED', r.reason, 'APPROVAL_DENIED');
    case 'spent':
      // Refused as admit() refuses a lost consume, rather than a challenge naming a spent approval.
      return refuse(call, withApproval, 'POLICY_DENIED', 'approval already used', 'APPROVAL_CONFLICT');
    case 'granted': {
      // Granted while held: the policy decides again, now with input.approval.
      const again = evaluate(deps.engine, deps.metrics, call, r.grant);
      const evaluated = learn(withApproval, { evaluation: again });
      if (!again.result.ok) return { kind: 'error', known: evaluated, error: again.result.error };
      if (again.result.decision.decision === 'allow') return admit(deps, call, evaluated, again.result.decision, { grant: r.grant, digest, spent: false });
      return refuse(call, evaluated, 'POLICY_DENIED', again.result.decision.reason);
    }
    case 'pending': {
      const url = answersInputRequired(call.mcp) ? deps.mcp.approvalUrl(r.approvalId) : undefined;
      const inputRequired = url === undefined ? undefined : pendingInputRequired(bindingFor(deps, call, digest, r.approvalId), { id: call.mcp!.id, url, expiresAtMs: Date.parse(r.expiresAt), retried: call.retry });
      return { kind: 'challenge', known: withApproval, mcp: call.mcp, approvalId: r.approvalId, expiresAt: r.expiresAt, reason: decision.reason, ...(inputRequired !== undefined && { inputRequired }) };
    }
    case 'client_gone':
      return { kind: 'client_gone', known: withApproval };
    case 'shutting_down':
      return { kind: 'error', known: withApproval, error: new WardenError('SHUTTING_DOWN', 'closed while the request waited for an approval'), closeConnection: true };
    default:
      return assertNever(r);
  }
}

/** The lane's credential for this caller: its task's user and its agent (for token exchange). */
function credentialFor(deps: PipelineDeps, call: CallContext, lane: string, narrowing: CredentialNarrowing | undefined): Awaitable<LaneCredential> {
  const { agent, task } = call.principal;
  const who = () => ({ agentId: agent.id, ...(task && { task: { id: task.id, userId: task.user.id, endsAtMs: Date.parse(task.expires_at) } }) });
  return deps.lanes.resolve(call.route.name, lane, who, narrowing);
}

/** The headers that go upstream: the agent's, the policy's, the lane credential and the decision id, within the upstream's budget. */
function outgoingHeaders(call: CallContext, policyHeaders: Record<string, string>, cred: LaneCredential | undefined): Record<string, string | string[]> {
  // Copied key by key, not spread: see learn() in outcome.ts (a new hidden class per request).
  const headers: Record<string, string | string[]> = {};
  for (const name in call.forwardHeaders) headers[name] = call.forwardHeaders[name]!;
  for (const name in policyHeaders) headers[name] = policyHeaders[name]!;
  headers['warden-decision-id'] = call.decisionId;
  if (cred !== undefined) headers[cred.header] = cred.value;
  const up = call.route.upstream;
  checkHeaderBudget(`${call.method} ${call.path}${call.search} HTTP/1.1`, headers, call.body.raw.length, { count: up.max_header_count, bytes: up.max_header_bytes });
  return headers;
}

function bindingOf(call: CallContext): CallBinding {
  return bindingFromInput({ request: call.request, mcp: call.mcp, task: call.principal.task, agent: call.principal.agent });
}

/** What Warden's `requestState` for this call binds (src/proxy/mrtr.ts). */
function bindingFor(deps: PipelineDeps, call: CallContext, digest: string, approval: string): Binding {
  return { key: deps.mcp.stateKey, owner: stateOwner(call.principal), call: digest, approval };
}
