// The task timeline as one self-contained HTML page (`warden audit trace --format html`): no
// script, no external resource. A time strip shows every call as a mark coloured by its outcome,
// approvals and task changes as flags; below, every entry in order with its details.

import type { Timeline, TimelineEntry } from './timeline.js';
import { describeEntry } from './timeline.js';

const COLOURS: Record<string, string> = {
  allow: '#1a7f37',
  deny: '#cf222e',
  step_up: '#bf8700',
  error: '#6e7781',
  client_abort: '#8c959f',
  dry_run: '#0969da',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The entry's class names, escaped: the outcome and event names come from the log as written. */
function classOf(e: TimelineEntry): string {
  if (e.kind === 'call') return escapeHtml(`call ${e.outcome}`);
  if (e.kind === 'approval') return escapeHtml(`approval ${e.event.replace('approval.', '')}`);
  return escapeHtml(`task ${e.event.replace('task.', '')}`);
}

function label(e: TimelineEntry): string {
  if (e.kind === 'call') return e.outcome.replace('_', '-');
  if (e.kind === 'approval') return e.event.replace('approval.', 'approval ');
  return e.event.replace('task.', 'task ');
}

function strip(t: Timeline): string {
  const times = t.entries.map((e) => Date.parse(e.at)).filter(Number.isFinite);
  if (times.length === 0) return '';
  const start = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - start);
  const marks = t.entries.map((e, i) => {
    const x = ((Date.parse(e.at) - start) / span) * 100;
    const title = escapeHtml(`${e.at} ${describeEntry(e)}`);
    return `<a class="mark ${classOf(e)}" href="#e${i}" style="left:${x.toFixed(3)}%" title="${title}" data-kind="${e.kind}"></a>`;
  });
  return `<div class="strip" aria-label="calls by time">${marks.join('')}</div>
<div class="axis"><span>${escapeHtml(new Date(start).toISOString())}</span><span>${escapeHtml(new Date(start + span).toISOString())}</span></div>`;
}

function row(e: TimelineEntry, i: number): string {
  const detail = escapeHtml(describeEntry(e));
  const by = e.kind === 'approval' && e.approver ? `<span class="who">approved by ${escapeHtml(e.approver)}</span>` : '';
  return `<tr id="e${i}" class="${classOf(e)}" data-outcome="${escapeHtml(e.kind === 'call' ? e.outcome : e.event)}"><td class="at">${escapeHtml(e.at)}</td><td><span class="badge">${escapeHtml(label(e))}</span></td><td>${detail}${e.kind === 'approval' && e.event === 'approval.approved' ? ` ${by}` : ''}</td></tr>`;
}

function approvals(t: Timeline): string {
  if (t.approvals.length === 0) return '';
  const rows = t.approvals.map((a) => {
    const call = a.call ? [a.call.method, a.call.upstream && `${a.call.upstream}${a.call.path ?? ''}`, a.call.tool].filter(Boolean).join(' ') : '';
    return `<tr class="approval-story"><td>${escapeHtml(a.id)}</td><td>${escapeHtml(call)}</td><td>${escapeHtml(a.status)}</td><td>${escapeHtml(a.approver ?? '')}</td><td>${escapeHtml(a.decided_at ?? '')}</td><td>${escapeHtml(a.reason ?? '')}</td><td>${escapeHtml(a.used_by ?? '')}</td></tr>`;
  });
  return `<h2>Approvals</h2><table class="approvals"><thead><tr><th>id</th><th>for</th><th>status</th><th>approver</th><th>decided</th><th>reason</th><th>used by</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderTimelineHtml(t: Timeline): string {
  const counts = Object.entries(t.counts).map(([k, v]) => `<span class="badge ${escapeHtml(k)}">${escapeHtml(k.replace('_', '-'))} ${v}</span>`).join(' ');
  const colours = Object.entries(COLOURS).map(([k, c]) => `.call.${k} .badge,.mark.call.${k},.badge.${k}{background:${c}}`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Task ${escapeHtml(t.task_id)} · Warden timeline</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.meta{color:#57606a;margin-bottom:12px}
.strip{position:relative;height:40px;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;margin:8px 0 2px}
.mark{position:absolute;top:8px;width:10px;height:22px;margin-left:-5px;border-radius:3px;display:block}
.mark.approval{background:#8250df;top:2px;height:34px;width:4px;margin-left:-2px}
.mark.task{background:#24292f;top:2px;height:34px;width:2px;margin-left:-1px}
.axis{display:flex;justify-content:space-between;color:#57606a;font-size:12px}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top}
td.at{white-space:nowrap;color:#57606a;font-family:ui-monospace,monospace;font-size:12px}
.badge{display:inline-block;color:#fff;background:#57606a;border-radius:10px;padding:0 8px;font-size:12px;white-space:nowrap}
tr.approval .badge{background:#8250df} tr.approval{background:#fbefff}
tr.task .badge{background:#24292f}
.who{font-weight:600;color:#8250df}
${colours}
</style></head><body>
<h1>Task <code>${escapeHtml(t.task_id)}</code></h1>
<div class="meta">agent ${escapeHtml(t.agent ?? '?')} · user ${escapeHtml(t.user ?? '?')}${t.created_at ? ` · created ${escapeHtml(t.created_at)}` : ''}${t.revoked_at ? ` · <strong>revoked ${escapeHtml(t.revoked_at)}</strong>` : ''}</div>
<div class="counts">${counts}</div>
${strip(t)}
<h2>Timeline</h2>
<table class="timeline"><thead><tr><th>time</th><th>what</th><th>detail</th></tr></thead><tbody>
${t.entries.map(row).join('\n')}
</tbody></table>
${approvals(t)}
</body></html>
`;
}
