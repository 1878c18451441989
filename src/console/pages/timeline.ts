// A task's timeline (src/audit/timeline.ts) as a list a person reads at a glance: time, what
// happened, coloured by decision; approvals and task changes marked.

import { describeEntry, type TimelineEntry } from '../../audit/timeline.js';
import { html, type Html } from '../html.js';
import { layout, time, type SessionView } from './layout.js';

export interface TimelineView {
  readonly entries: readonly TimelineEntry[];
  /** Calls per outcome over the whole timeline. */
  readonly counts: Readonly<Record<string, number>>;
  /** Why the timeline is incomplete or missing (log on stdout, only the tail read). */
  readonly note?: string;
}

function kindClass(e: TimelineEntry): string {
  return e.kind === 'call' ? e.outcome : e.kind;
}

/** The last `limit` entries, oldest first. */
export function timelineList(v: TimelineView, limit = 50): Html {
  const shown = v.entries.slice(-limit);
  const counts = Object.entries(v.counts).map(([k, n]) => html`<span class="badge ${k}">${k} ${n}</span> `);
  return html`${v.note ? html`<p class="notice">${v.note}</p>` : ''}
${counts.length ? html`<p>${counts}</p>` : ''}
${v.entries.length > shown.length ? html`<p class="muted">The last ${shown.length} of ${v.entries.length} entries.</p>` : ''}
${shown.length ? html`<ol class="timeline">${shown.map((e) => html`<li class="${kindClass(e)}">${time(e.at)} <span class="what">${describeEntry(e)}</span></li>`)}</ol>` : html`<p class="muted">Nothing in the decision log for this task yet.</p>`}`;
}

export function taskPage(session: SessionView, taskId: string, v: TimelineView): string {
  return layout({ title: `Task ${taskId}`, session }, html`<h1>Task <span class="call">${taskId}</span></h1>
<section class="card">${timelineList(v, 2000)}</section>`);
}
