// Policy replay: the recorded inputs of a decision log re-evaluated under a candidate policy, and
// the decisions that change (from → to, counts per reason, example decision ids). An input with
// masked or truncated fields is not what the policy saw: it is reported as not replayable, never
// replayed as if it were.

import { REDACTED } from './mask.js';
import { TRUNCATED } from './decision-log.js';

export interface ReplayDecision {
  decision: string;
  lane?: string;
  reason?: string;
}

export interface ChangeGroup {
  from: string;
  to: string;
  /** The candidate's reason for the new decision. */
  reason: string;
  count: number;
  /** Up to five decision ids. */
  examples: string[];
}

export interface ReplayReport {
  replayed: number;
  unchanged: number;
  changed: ChangeGroup[];
  changed_total: number;
  /** Decisions whose input had masked or truncated fields. */
  not_replayable: { count: number; examples: string[] };
  /** Decision lines without an input or result (refused before the policy ran). */
  no_input: number;
}

const EXAMPLES = 5;

function hasPlaceholder(v: unknown): boolean {
  if (v === REDACTED || v === TRUNCATED) return true;
  if (typeof v !== 'object' || v === null) return false;
  return Object.values(v as Record<string, unknown>).some(hasPlaceholder);
}

const labelOf = (d: ReplayDecision): string => (d.lane ? `${d.decision}(${d.lane})` : d.decision);

/**
 * Replays every decision line of `lines`; `evaluate` runs the candidate on an input's JSON and
 * returns its decision, or throws (reported as `error`).
 */
export function replay(lines: Iterable<string>, evaluate: (inputJson: string) => ReplayDecision): ReplayReport {
  const report: ReplayReport = { replayed: 0, unchanged: 0, changed: [], changed_total: 0, not_replayable: { count: 0, examples: [] }, no_input: 0 };
  const groups = new Map<string, ChangeGroup>();
  for (const text of lines) {
    if (!text.includes('"type":"decision"')) continue;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (line.type !== 'decision') continue;
    const id = String(line.decision_id ?? '');
    const recorded = line.result as ReplayDecision | undefined;
    if (line.input === undefined || typeof recorded?.decision !== 'string') {
      report.no_input++;
      continue;
    }
    if (hasPlaceholder(line.input)) {
      report.not_replayable.count++;
      if (report.not_replayable.examples.length < EXAMPLES) report.not_replayable.examples.push(id);
      continue;
    }
    report.replayed++;
    let now: ReplayDecision;
    try {
      now = evaluate(JSON.stringify(line.input));
    } catch (err) {
      now = { decision: 'error', reason: (err as { code?: string }).code ?? 'evaluation failed' };
    }
    const from = labelOf(recorded);
    const to = labelOf(now);
    if (from === to) {
      report.unchanged++;
      continue;
    }
    const reason = now.reason ?? '';
    const key = `${from}\0${to}\0${reason}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { from, to, reason, count: 0, examples: [] }));
    g.count++;
    if (g.examples.length < EXAMPLES) g.examples.push(id);
    report.changed_total++;
  }
  report.changed = [...groups.values()].sort((a, b) => b.count - a.count);
  return report;
}

export function describeReplay(r: ReplayReport, revisions: { candidate: string }): string {
  const out = [`replayed ${r.replayed} decisions under candidate revision ${revisions.candidate}: ${r.changed_total} changed, ${r.unchanged} unchanged`];
  for (const g of r.changed) out.push(`  ${g.from} → ${g.to}  ${g.count}  reason ${JSON.stringify(g.reason)}  e.g. ${g.examples.join(', ')}`);
  if (r.not_replayable.count > 0) out.push(`not replayable: ${r.not_replayable.count} (masked or truncated input fields)  e.g. ${r.not_replayable.examples.join(', ')}`);
  if (r.no_input > 0) out.push(`no input: ${r.no_input} (refused before the policy ran)`);
  return out.join('\n');
}
