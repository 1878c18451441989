// The decision record of one request, built in one place from its outcome and how it was answered.

import type { DecisionLog, DecisionRecord } from '../audit/decision-log.js';
import { assertNever } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Outcome } from './outcome.js';

/** How the handler answered: the status sent (0 when nothing was) and a failure while forwarding. */
export interface Answered {
  readonly status: number;
  readonly upstreamStatus?: number;
  /** Code of the error that ended the request after the outcome (an upstream failure). */
  readonly error?: string;
  /** Tools removed from a tools/list result. */
  readonly hiddenTools?: readonly string[];
}

export interface RecordMeta {
  readonly decisionId: string;
  readonly entrypoint: string;
  readonly method: string;
  readonly durationMs: number;
  /** The agent left before its answer was complete. */
  readonly clientGone: boolean;
}

function outcomeName(o: Outcome, a: Answered): DecisionRecord['outcome'] {
  switch (o.kind) {
    case 'forward':
      return a.error === undefined ? (o.mode === 'allow' ? 'allow' : 'dry_run') : 'error';
    case 'refuse':
      return 'deny';
    case 'challenge':
      return 'step_up';
    case 'error':
    case 'client_gone':
      return 'error';
    default:
      return assertNever(o);
  }
}

function errorCode(o: Outcome, a: Answered): string | undefined {
  if (a.error !== undefined) return a.error;
  if (o.kind === 'error') return o.error.code;
  if (o.kind === 'refuse') return o.error;
  return undefined;
}

export function recordOf(o: Outcome, a: Answered, m: RecordMeta): DecisionRecord {
  const k = o.known;
  const ev = k.evaluation;
  const rec: DecisionRecord = {
    decision_id: m.decisionId,
    path: m.entrypoint,
    outcome: m.clientGone ? 'client_abort' : outcomeName(o, a),
    status: m.clientGone ? 499 : a.status,
    duration_ms: m.durationMs,
    method: m.method,
  };
  if (k.upstream !== undefined) rec.upstream = k.upstream;
  if (k.agent !== undefined) rec.agent = k.agent;
  if (k.task !== undefined) rec.task = k.task;
  if (k.stage !== undefined) rec.stage = k.stage;
  if (ev) {
    rec.input = ev.input;
    rec.input_json = ev.inputJson;
    if (ev.revision !== undefined) rec.revision = ev.revision;
    if (ev.result.ok) rec.result = ev.result.decision;
    rec.eval_ns = ev.evalNs;
  }
  if (k.approval !== undefined) rec.approval = k.approval;
  if (k.lane !== undefined) rec.lane = k.lane;
  if (k.credential !== undefined) rec.credential = k.credential;
  if (a.upstreamStatus !== undefined) rec.upstream_status = a.upstreamStatus;
  if (a.hiddenTools !== undefined && a.hiddenTools.length > 0) rec.mcp_hidden_tools = [...a.hiddenTools];
  const error = errorCode(o, a);
  if (error !== undefined) rec.error = error;
  return rec;
}

/** Write the one decision-log line of a request and count it. */
export function account(log: DecisionLog, metrics: Metrics, rec: DecisionRecord): void {
  log.decision(rec);
  metrics.countRequest(rec.outcome, rec.upstream ?? 'none', rec.status);
  if (rec.error) metrics.errors.inc({ code: rec.error });
}
