// The self-contained HTML timeline (`warden audit trace --format html`) from log lines that an
// attacker may have shaped (a log collected from elsewhere, a field an agent controls): every
// value lands escaped, in text and in attributes, and the page has no script and no external
// resource. The normal story is rendered in test/integration/audit-trace.test.ts.

import { describe, expect, it } from 'vitest';
import { buildTimeline } from '../../../src/audit/timeline.js';
import { escapeHtml, renderTimelineHtml } from '../../../src/audit/timeline-html.js';

const EVIL = '"><img src=x onerror=alert(1)>\'<script>alert(2)</script>&';

/** The page of a task whose logged fields all hold `v`. */
function page(v = EVIL): string {
  const lines = [
    { type: 'event', event: 'task.created', task_id: 't1', timestamp: '2026-01-01T00:00:00.000Z', agent: v, user_id: v, stage: v },
    {
      type: 'decision', task: 't1', timestamp: '2026-01-01T00:00:01.000Z', decision_id: v, outcome: v, status: 200, agent: v, lane: v, approval: 'ap-1',
      input: { request: { method: v, upstream: v, path: `/x/${v}` }, mcp: { tool: v }, task: { stage: v, risk: v, user: { id: v } } },
      result: { decision: 'step_up', reason: v },
    },
    { type: 'event', event: 'approval.approved', approval_id: 'ap-1', task_id: 't1', timestamp: '2026-01-01T00:00:02.000Z', approver: v, reason: v },
  ];
  return renderTimelineHtml(buildTimeline(lines, 't1'));
}

describe('renderTimelineHtml', () => {
  it('escapes every logged value, in text and in attributes', () => {
    const html = page();
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('onerror=alert(1)>');
    // Nothing closes an attribute early: every quote in the page belongs to the markup.
    expect(html).not.toMatch(/class="[^"]*"[^ >/]/);
    expect(html).toContain(escapeHtml(EVIL));
  });

  it('loads nothing and runs nothing', () => {
    const html = page('plain');
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed)\b|src=|@import|url\(/i);
    expect(html).not.toMatch(/ on[a-z]+=/i);
  });
});

describe('escapeHtml', () => {
  it('encodes the five characters that matter in text and in quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});
