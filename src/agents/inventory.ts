// The inventory of agents that security teams keep (GET /v1/agents, JSON or CSV): each agent with
// its owner, ceiling, status, subjects, live tasks and last activity. An active agent unused for
// `agents.stale_after` is flagged stale: it holds access nobody seems to need.

import type { AgentRecord } from '../store/agents.js';

/** A task neither revoked nor expired, as the registry sees it. */
export interface LiveTask {
  readonly id: string;
  readonly agent: string;
  readonly scopes: readonly string[];
}

export interface AgentView {
  id: string;
  owner: string;
  description: string | null;
  status: AgentRecord['status'];
  scopes: readonly string[];
  max_risk: string | null;
  subjects: AgentRecord['subjects'];
  created_at: string;
  updated_at: string;
  last_activity: string | null;
  live_tasks: string[];
  stale: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Unused since `staleAfterMs`: judged from the last activity, or the registration when never used. */
export function isStale(a: AgentRecord, nowMs: number, staleAfterMs: number): boolean {
  return a.status === 'active' && nowMs - (a.last_activity ?? a.created_at) > staleAfterMs;
}

export function agentView(a: AgentRecord, live: readonly LiveTask[], nowMs: number, staleAfterMs: number): AgentView {
  return {
    id: a.id,
    owner: a.owner,
    description: a.description ?? null,
    status: a.status,
    scopes: a.scopes,
    max_risk: a.max_risk ?? null,
    subjects: a.subjects,
    created_at: iso(a.created_at),
    updated_at: iso(a.updated_at),
    last_activity: a.last_activity === undefined ? null : iso(a.last_activity),
    live_tasks: live.filter((t) => t.agent === a.id).map((t) => t.id),
    stale: isStale(a, nowMs, staleAfterMs),
  };
}

const CSV_COLUMNS = ['id', 'owner', 'status', 'scopes', 'max_risk', 'subjects', 'live_tasks', 'live_task_ids', 'last_activity', 'stale', 'created_at', 'description'] as const;

/**
 * RFC 4180 fields. A field that a spreadsheet would run as a formula (= + - @, tab, CR) is
 * prefixed with `'` (OWASP CSV injection): owners and descriptions are typed by people.
 */
function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function inventoryCsv(views: readonly AgentView[]): string {
  const rows = views.map((v) => [
    v.id,
    v.owner,
    v.status,
    v.scopes.join(' '),
    v.max_risk ?? '',
    v.subjects.map((s) => `${s.issuer}#${s.subject}`).join(' '),
    String(v.live_tasks.length),
    v.live_tasks.join(' '),
    v.last_activity ?? '',
    String(v.stale),
    v.created_at,
    v.description ?? '',
  ]);
  return `${[CSV_COLUMNS as readonly string[], ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}
