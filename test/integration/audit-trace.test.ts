// `warden audit trace` on the log of a real run (task created, calls allowed and denied, a step-up
// approved, a stage change, revocation): the text and JSON forms tell the whole story, and the HTML
// page is opened in headless Chromium, checked for its content, and kept as a screenshot.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditStory, type AuditRun } from '../helpers/audit-run.js';
import { CLI_TIMEOUT, warden } from '../helpers/cli.js';

const ARTIFACTS = resolve(import.meta.dirname, '../.artifacts');

let run: AuditRun;
let browser: Browser | undefined;
beforeAll(async () => {
  run = await runAuditStory();
  await run.close();
});
afterAll(async () => {
  await browser?.close();
});

describe('warden audit trace', () => {
  it('prints the story of a task as text', async () => {
    const r = await warden(['audit', 'trace', '--task', run.taskId, run.w.logFile]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`task ${run.taskId} agent=agent-1 user=dana calls: allow 3, deny 1, step_up 1`);
    const body = lines.slice(1).map((l) => l.replace(/^\S+\s+/, ''));
    const order = ['TASK CREATED', 'ALLOW GET github/repos/acme/app/issues', 'DENY POST github/repos/acme/app/issues', 'TASK UPDATED stage plan → execute', 'ALLOW POST', 'APPROVAL REQUESTED', 'STEP_UP DELETE github/repos/acme/app/branches/old', 'APPROVAL APPROVED', 'APPROVAL USED', 'ALLOW DELETE', 'TASK REVOKED'];
    let at = 0;
    for (const step of order) {
      const i = body.findIndex((l, j) => j >= at && l.startsWith(step));
      expect(i, step).toBeGreaterThanOrEqual(at);
      at = i + 1;
    }
    const del = body.find((l) => l.startsWith('ALLOW DELETE'));
    expect(del).toContain(`lane=escalation credential=github/escalation approval=${run.approvalId}`);
    expect(body.find((l) => l.startsWith('ALLOW GET'))).toContain('lane=read');
    expect(r.stdout).toContain(`approval ${run.approvalId}: used by sam`);
  }, CLI_TIMEOUT);

  it('prints the timeline as JSON, and exits 1 for an unknown task', async () => {
    const r = await warden(['audit', 'trace', '--task', run.taskId, '--format', 'json', run.w.logFile]);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t).toMatchObject({ task_id: run.taskId, counts: { allow: 3, deny: 1, step_up: 1 }, approvals: [{ id: run.approvalId, approver: 'sam', status: 'used', used_by: run.ids.approved }] });
    const none = await warden(['audit', 'trace', '--task', 'no-such-task', run.w.logFile]);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/no line of task no-such-task/);
  }, CLI_TIMEOUT);

  it('renders one self-contained HTML page that Chromium shows with the timeline', async () => {
    const r = await warden(['audit', 'trace', '--task', run.taskId, '--format', 'html', run.w.logFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/<script|<link|src=|@import|url\(/i);
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'trace.html');
    writeFileSync(file, r.stdout);

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    // Self-contained: any request beyond the file itself would be a resource from elsewhere.
    const requests: string[] = [];
    context.on('request', (req) => requests.push(req.url()));
    const page = await context.newPage();
    await page.goto(pathToFileURL(file).href);
    expect(requests).toEqual([pathToFileURL(file).href]);

    expect(await page.title()).toBe(`Task ${run.taskId} · Warden timeline`);
    await expect(page.locator('h1').textContent()).resolves.toContain(run.taskId);
    await expect(page.locator('.meta').textContent()).resolves.toMatch(/agent agent-1 · user dana · created .* · revoked/);
    const outcomes = await page.locator('table.timeline tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-outcome')));
    expect(outcomes).toEqual(['task.created', 'allow', 'deny', 'task.updated', 'allow', 'approval.requested', 'step_up', 'approval.approved', 'approval.used', 'allow', 'task.revoked']);
    // Coloured by decision: allow green, deny red, step-up amber, as the browser computes them.
    const colour = (sel: string) => page.locator(sel).first().evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await colour('.mark.call.allow')).toBe('rgb(26, 127, 55)');
    expect(await colour('.mark.call.deny')).toBe('rgb(207, 34, 46)');
    expect(await colour('.mark.call.step_up')).toBe('rgb(191, 135, 0)');
    expect(await page.locator('.strip .mark').count()).toBe(outcomes.length);
    // Approvals are marked: on the strip, and with who approved in the table.
    expect(await page.locator('.strip .mark.approval').count()).toBe(3);
    await expect(page.locator('tr.approval.approved').textContent()).resolves.toContain('approved by sam');
    await expect(page.locator('table.approvals').textContent()).resolves.toMatch(new RegExp(`${run.approvalId}DELETE github/repos/acme/app/branches/oldusedsam.*branch is merged${run.ids.approved}`));
    await page.screenshot({ path: join(ARTIFACTS, 'trace.png'), fullPage: true });
  }, CLI_TIMEOUT);

  it('escapes what the log holds: a path cannot inject markup', async () => {
    const { buildTimeline } = await import('../../src/audit/timeline.js');
    const { renderTimelineHtml } = await import('../../src/audit/timeline-html.js');
    const line = JSON.stringify({ timestamp: '2026-01-01T00:00:00Z', type: 'decision', decision_id: 'd', task: 't', outcome: 'deny', status: 403, input: { request: { method: 'GET', upstream: 'x', path: '/<script>alert(1)</script>' } }, result: { decision: 'deny', reason: '"><img src=x>' } });
    const html = renderTimelineHtml(buildTimeline([line], 't'));
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;script&#62;');
  }, CLI_TIMEOUT);
});
