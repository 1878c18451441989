// The pending list and one approval's page: the exact call (method, path, query, MCP tool and
// arguments), for whom (task, user, agent, stage, risk), why (the policy's reason and risk), and
// the approve and deny forms when this approver may decide it.

import type { Approval } from '../../store/approvals.js';
import { html, type Html } from '../html.js';
import { layout, time, type SessionView } from './layout.js';
import { timelineList, type TimelineView } from './timeline.js';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export type { SessionView } from './layout.js';

/** The status a person should read: a pending approval past its expiry is expired. */
export function shownStatus(a: Approval, now: number): string {
  return (a.status === 'pending' || a.status === 'approved') && a.expires_at <= now ? 'expired' : a.status;
}

function tool(a: Approval): string | undefined {
  const mcp = rec(a.summary.mcp);
  return text(mcp?.tool) ?? text(mcp?.name) ?? text(mcp?.uri);
}

function queryString(a: Approval): string {
  const q = rec(a.summary.query) ?? {};
  const parts: string[] = [];
  for (const [k, vs] of Object.entries(q)) for (const v of Array.isArray(vs) ? vs : [vs]) parts.push(`${k}=${String(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

function callLine(a: Approval): Html {
  const t = tool(a);
  return html`<div class="call"><span class="method">${a.method}</span> ${a.upstream}${a.path}${queryString(a)}${t ? html` · tool <strong>${t}</strong>` : ''}</div>`;
}

function pretty(v: unknown): string {
  return JSON.stringify(v, null, 2) ?? String(v);
}

/** The MCP tool's arguments as the console keeps them (masked), or why they are not shown. */
function argumentsOf(a: Approval): Html | string | undefined {
  const d = rec(a.detail) ?? {};
  if (d.mcp_arguments !== undefined) return html`<pre class="arguments">${pretty(d.mcp_arguments)}</pre>`;
  return typeof d.mcp_arguments_bytes === 'number' ? `(${d.mcp_arguments_bytes} bytes: too large to show)` : undefined;
}

function callDetails(a: Approval): Html {
  const mcp = rec(a.summary.mcp);
  const s = a.summary;
  const row = (label: string, value: unknown): Html | '' => (value === undefined || value === null || value === '' ? '' : html`<dt>${label}</dt><dd>${value}</dd>`);
  const args = argumentsOf(a);
  const query = rec(s.query);
  return html`<dl>
${row('Upstream', a.upstream)}${row('Method', a.method)}${row('Path', html`<span class="call">${a.path}</span>`)}
${query && Object.keys(query).length ? row('Query', html`<pre>${pretty(query)}</pre>`) : ''}
${row('MCP method', text(mcp?.method))}${row('MCP tool', tool(a))}${row('Arguments', args)}
${row('Content type', text(s.content_type))}${row('Body', typeof s.size === 'number' ? `${s.size} bytes, ${String(s.body_digest ?? '')}` : undefined)}
${text(s.body_preview) !== undefined ? row('Body preview', html`<pre>${s.body_preview}${s.body_truncated === true ? '…' : ''}</pre>`) : ''}
</dl>`;
}

function whoDetails(a: Approval): Html {
  const s = a.summary;
  const d = rec(a.detail) ?? {};
  const row = (label: string, value: unknown): Html | '' => (value === undefined || value === null || value === '' ? '' : html`<dt>${label}</dt><dd>${value}</dd>`);
  return html`<dl>
${row('Task', a.task_id ? html`<a href="/console/tasks/${encodeURIComponent(a.task_id)}">${a.task_id}</a>` : undefined)}
${row('User', text(s.user_id))}${row('Agent', a.agent_id)}${row('Stage', text(s.stage))}${row('Task risk', text(d.task_risk))}
${row('Policy risk', a.risk)}${row('Policy reason', a.reason)}
${row('May approve', a.approvers.length ? a.approvers.join(', ') : 'anyone signed in')}
${row('Requested', time(a.created_at))}${row('Expires', time(a.expires_at))}${row('Decision id', a.decision_id)}
</dl>`;
}

function card(a: Approval, now: number): Html {
  const status = shownStatus(a, now);
  return html`<article class="card approval" data-approval-id="${a.id}">
<div><span class="badge ${status}">${status}</span> ${callLine(a)}</div>
<dl>
<dt>Task</dt><dd>${a.task_id ?? '—'}${text(a.summary.user_id) ? html` · user <strong>${text(a.summary.user_id)}</strong>` : ''}${text(a.summary.stage) ? html` · stage ${text(a.summary.stage)}` : ''}${a.risk ? html` · risk ${a.risk}` : ''}</dd>
${argumentsOf(a) !== undefined ? html`<dt>Arguments</dt><dd>${argumentsOf(a)}</dd>` : ''}
<dt>Reason</dt><dd>${a.reason ?? '—'}</dd>
<dt>Requested</dt><dd>${time(a.created_at)} · expires ${time(a.expires_at)}</dd>
${a.approver ? html`<dt>Decided</dt><dd>${a.status === 'denied' ? 'denied' : 'approved'} by <strong>${a.approver}</strong>${a.decision_reason ? html`: ${a.decision_reason}` : ''}${a.status === 'used' ? html` · used ${time(a.used_at)}` : ''}</dd>` : ''}
</dl>
<p><a href="/console/approvals/${encodeURIComponent(a.id)}">Review ${a.status === 'pending' ? 'and decide' : ''}</a></p>
</article>`;
}

export function listPage(session: SessionView, pending: readonly Approval[], recent: readonly Approval[], now: number): string {
  return layout(
    { title: 'Pending approvals', session, refresh: 5 },
    html`<h1>Pending approvals <span class="muted">(${pending.length})</span></h1>
${pending.length ? pending.map((a) => card(a, now)) : html`<p class="muted" id="none-pending">Nothing is waiting for a decision.</p>`}
<h2>Recently decided</h2>
${recent.length ? recent.map((a) => card(a, now)) : html`<p class="muted">None yet.</p>`}`,
  );
}

export interface ApprovalPageView {
  readonly session: SessionView;
  readonly approval: Approval;
  readonly now: number;
  /** Whether this approver may decide it (the policy's `approvers`). */
  readonly mayDecide: boolean;
  readonly timeline: TimelineView | undefined;
  readonly notice?: string;
}

function decisionForms(v: ApprovalPageView): Html {
  const a = v.approval;
  const status = shownStatus(a, v.now);
  if (status !== 'pending') {
    const who = a.approver ? html` by <strong>${a.approver}</strong>${a.decided_at ? html` at ${time(a.decided_at)}` : ''}${a.decision_reason ? html`: ${a.decision_reason}` : ''}` : '';
    const text = status === 'approved' || status === 'denied' || !a.approver ? html`<strong>${status}</strong>${who}` : html`<strong>${status}</strong> (${a.status === 'denied' ? 'denied' : 'approved'}${who})`;
    return html`<p class="notice" id="decided">This approval is ${text}.</p>`;
  }
  if (!v.mayDecide) return html`<p class="notice error">The policy names ${a.approvers.join(', ')} as approvers of this call; you are signed in as ${v.session.approver}.</p>`;
  const id = encodeURIComponent(a.id);
  return html`<div class="actions">
<form method="post" action="/console/approvals/${id}/approve">
<input type="hidden" name="csrf" value="${v.session.csrf}">
<label for="approve-reason">Reason (optional)</label>
<input type="text" id="approve-reason" name="reason" maxlength="1000">
<button class="approve" type="submit">Approve this call once</button>
</form>
<form method="post" action="/console/approvals/${id}/deny">
<input type="hidden" name="csrf" value="${v.session.csrf}">
<label for="deny-reason">Reason (required)</label>
<input type="text" id="deny-reason" name="reason" maxlength="1000" required>
<button class="deny" type="submit">Deny</button>
</form>
</div>`;
}

export function approvalPage(v: ApprovalPageView): string {
  const a = v.approval;
  const status = shownStatus(a, v.now);
  return layout(
    { title: `Approval ${a.id}`, session: v.session },
    html`<h1>Approval <span class="badge ${status}" id="status">${status}</span></h1>
${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
<section class="card"><h2>The call</h2>${callLine(a)}${callDetails(a)}</section>
<section class="card"><h2>For whom and why</h2>${whoDetails(a)}</section>
<section class="card"><h2>Decision</h2>${decisionForms(v)}</section>
${a.task_id ? html`<section class="card"><h2>Task timeline</h2>${v.timeline ? timelineList(v.timeline) : html`<p class="muted">No timeline.</p>`}
<p><a href="/console/tasks/${encodeURIComponent(a.task_id)}">Whole timeline of the task</a></p></section>` : ''}`,
  );
}
