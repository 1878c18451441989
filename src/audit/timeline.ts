// A task's story from decision-log lines: every call with its decision, reason, lane and
// credential, approvals (who, when, for what), stage and risk changes, revocation. Pure: the
// lines come in (text or parsed), a structured timeline goes out; `warden audit trace` and the
// approver console render it.

export type CallOutcome = 'allow' | 'deny' | 'step_up' | 'error' | 'client_abort' | 'dry_run';

export interface CallEntry {
  kind: 'call';
  at: string;
  decision_id: string;
  outcome: CallOutcome;
  /** The policy's decision (`allow | deny | step_up`) when it ran. */
  decision?: string;
  reason?: string;
  status: number;
  error?: string;
  method?: string;
  upstream?: string;
  path?: string;
  /** MCP tool (or JSON-RPC method when not a tool call). */
  tool?: string;
  lane?: string;
  credential?: { lane?: string; kind?: string; id?: string };
  approval?: string;
  stage?: string;
  risk?: string;
  revision?: string;
}

export interface TaskEntry {
  kind: 'task';
  at: string;
  event: 'task.created' | 'task.updated' | 'task.revoked';
  stage?: string;
  risk?: string;
  from_stage?: string;
  from_risk?: string;
  agent?: string;
  user?: string;
  scopes?: readonly string[];
}

export interface ApprovalEntry {
  kind: 'approval';
  at: string;
  event: string;
  approval_id: string;
  approver?: string;
  reason?: string;
}

export type TimelineEntry = CallEntry | TaskEntry | ApprovalEntry;

export interface ApprovalStory {
  id: string;
  /** The call it was requested for (the first step_up decision naming it). */
  call?: { decision_id: string; method?: string; upstream?: string; path?: string; tool?: string; reason?: string };
  requested_at?: string;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'used';
  decided_at?: string;
  approver?: string;
  reason?: string;
  used_at?: string;
  /** The decision id of the call that spent it. */
  used_by?: string;
}

export interface Timeline {
  task_id: string;
  agent?: string;
  user?: string;
  created_at?: string;
  revoked_at?: string;
  entries: TimelineEntry[];
  /** Calls per outcome. */
  counts: Record<string, number>;
  approvals: ApprovalStory[];
  /** Lines that were not JSON objects (skipped). */
  unreadable: number;
}

type Line = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Line | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Line) : undefined);

function parse(line: string | Line): Line | undefined {
  if (typeof line !== 'string') return obj(line);
  if (line.trim() === '') return undefined;
  try {
    return obj(JSON.parse(line));
  } catch {
    return undefined;
  }
}

function callOf(l: Line): CallEntry {
  const input = obj(l.input);
  const request = obj(input?.request);
  const mcp = obj(input?.mcp);
  const task = obj(input?.task);
  const result = obj(l.result);
  const credential = obj(l.credential);
  const revision = str(obj(obj(l.bundles)?.warden)?.revision);
  const e: CallEntry = { kind: 'call', at: str(l.timestamp) ?? '', decision_id: str(l.decision_id) ?? '', outcome: (str(l.outcome) ?? 'error') as CallOutcome, status: typeof l.status === 'number' ? l.status : 0 };
  const set = <K extends keyof CallEntry>(k: K, v: CallEntry[K] | undefined): void => {
    if (v !== undefined) e[k] = v;
  };
  set('decision', str(result?.decision));
  set('reason', str(result?.reason));
  set('error', str(l.error));
  set('method', str(request?.method) ?? str(l.method));
  set('upstream', str(request?.upstream) ?? str(l.upstream));
  set('path', str(request?.path));
  set('tool', str(mcp?.tool) ?? str(mcp?.method));
  set('lane', str(l.lane));
  if (credential) e.credential = { ...(str(credential.lane) && { lane: str(credential.lane) }), ...(str(credential.kind) && { kind: str(credential.kind) }), ...(str(credential.id) && { id: str(credential.id) }) };
  set('approval', str(l.approval));
  set('stage', str(l.stage) ?? str(task?.stage));
  set('risk', str(task?.risk));
  set('revision', revision);
  return e;
}

const APPROVAL_STATUS: Record<string, ApprovalStory['status']> = {
  'approval.requested': 'pending',
  'approval.approved': 'approved',
  'approval.denied': 'denied',
  'approval.expired': 'expired',
  'approval.cancelled': 'cancelled',
  'approval.used': 'used',
};

/** The timeline of one task from log lines in file order (several files: concatenate in order). */
export function buildTimeline(lines: Iterable<string | Line>, taskId: string): Timeline {
  const t: Timeline = { task_id: taskId, entries: [], counts: {}, approvals: [], unreadable: 0 };
  const approvals = new Map<string, ApprovalStory>();
  const story = (id: string): ApprovalStory => {
    let a = approvals.get(id);
    if (!a) approvals.set(id, (a = { id, status: 'pending' }));
    return a;
  };
  for (const raw of lines) {
    const l = parse(raw);
    if (!l) {
      if (typeof raw !== 'string' || raw.trim() !== '') t.unreadable++;
      continue;
    }
    const at = str(l.timestamp) ?? '';
    if (l.type === 'decision' && l.task === taskId) {
      const call = callOf(l);
      t.entries.push(call);
      t.counts[call.outcome] = (t.counts[call.outcome] ?? 0) + 1;
      t.agent ??= str(l.agent);
      t.user ??= str(obj(obj(obj(l.input)?.task)?.user)?.id);
      if (call.approval) {
        const a = story(call.approval);
        if (call.outcome === 'step_up' || (!a.call && call.decision === 'step_up')) a.call ??= { decision_id: call.decision_id, ...pick(call) };
        if (call.outcome === 'allow') {
          a.used_by = call.decision_id;
          a.used_at ??= call.at;
        }
      }
      continue;
    }
    if (l.type !== 'event' || l.task_id !== taskId) continue;
    const event = str(l.event) ?? '';
    if (event === 'task.created' || event === 'task.updated' || event === 'task.revoked') {
      const e: TaskEntry = { kind: 'task', at, event };
      for (const k of ['stage', 'risk', 'from_stage', 'from_risk', 'agent'] as const) if (str(l[k]) !== undefined) e[k] = str(l[k]);
      if (str(l.user_id)) e.user = str(l.user_id);
      if (Array.isArray(l.scopes)) e.scopes = l.scopes.filter((s): s is string => typeof s === 'string');
      t.entries.push(e);
      t.agent ??= e.agent;
      t.user ??= e.user;
      if (event === 'task.created') t.created_at = at;
      if (event === 'task.revoked') t.revoked_at = str(l.revoked_at) ?? at;
      continue;
    }
    const status = APPROVAL_STATUS[event];
    const id = str(l.approval_id);
    if (!status || !id) continue;
    const e: ApprovalEntry = { kind: 'approval', at, event, approval_id: id };
    if (str(l.approver)) e.approver = str(l.approver);
    if (str(l.reason)) e.reason = str(l.reason);
    t.entries.push(e);
    const a = story(id);
    if (event === 'approval.requested') a.requested_at ??= at;
    else if (event === 'approval.used') a.used_at = at;
    else if (event === 'approval.approved' || event === 'approval.denied') {
      a.decided_at = at;
      if (e.approver) a.approver = e.approver;
      if (e.reason) a.reason = e.reason;
    }
    a.status = status;
  }
  t.approvals = [...approvals.values()];
  return t;
}

function pick(c: CallEntry): Omit<NonNullable<ApprovalStory['call']>, 'decision_id'> {
  const out: Omit<NonNullable<ApprovalStory['call']>, 'decision_id'> = {};
  for (const k of ['method', 'upstream', 'path', 'tool', 'reason'] as const) if (c[k] !== undefined) out[k] = c[k];
  return out;
}

/** One line of text for an entry (`warden audit trace --format text`, console lists). */
export function describeEntry(e: TimelineEntry): string {
  switch (e.kind) {
    case 'call': {
      const what = [e.method, e.upstream && e.path !== undefined ? `${e.upstream}${e.path}` : e.upstream, e.tool && `tool=${e.tool}`].filter(Boolean).join(' ');
      const extra = [
        e.reason !== undefined && `reason="${e.reason}"`,
        e.lane && `lane=${e.lane}`,
        e.credential?.id && `credential=${e.credential.id}`,
        e.approval && `approval=${e.approval}`,
        e.error && `error=${e.error}`,
        `status=${e.status}`,
        `decision=${e.decision_id}`,
      ].filter(Boolean);
      return `${e.outcome.toUpperCase()} ${what} ${extra.join(' ')}`;
    }
    case 'task':
      if (e.event === 'task.created') return `TASK CREATED agent=${e.agent ?? '?'} user=${e.user ?? '?'} stage=${e.stage ?? '?'} risk=${e.risk ?? '?'}${e.scopes ? ` scopes=${e.scopes.join(',')}` : ''}`;
      if (e.event === 'task.updated') return `TASK UPDATED stage ${e.from_stage ?? '?'} → ${e.stage ?? '?'}, risk ${e.from_risk ?? '?'} → ${e.risk ?? '?'}`;
      return 'TASK REVOKED';
    case 'approval':
      return `${e.event.replace('approval.', 'APPROVAL ').toUpperCase()} ${e.approval_id}${e.approver ? ` by ${e.approver}` : ''}${e.reason ? ` reason="${e.reason}"` : ''}`;
  }
}
