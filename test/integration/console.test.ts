// The approver console driven end to end in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core; no browser download): a real Warden with a compiled test policy, a real agent
// request that needs a human, the approval link from the signed webhook event, sign-in, approve,
// and the agent's retry passing. HTTP-level attacks are in test/security/console.test.ts.

import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, APPROVER_TOKENS, ConsoleClient, pendingApproval, startConsoleWarden, type ConsoleSetup } from '../helpers/console.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-console-test-0123456789abcdef';
process.env.TEST_CONSOLE_WEBHOOK_SECRET = SECRET;
const ARTIFACTS = join(import.meta.dirname, '..', '.artifacts');

let s: ConsoleSetup;
let hook: WebhookReceiver;
let browser: Browser;
/** A page on another origin of the same site (127.0.0.1, another port): what an attacker could serve. */
let attacker: Server;
let attackerHtml = '';

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  hook = await startWebhookReceiver(SECRET);
  s = await startConsoleWarden({ step_up: { webhook: { url: hook.url, secret: '${env:TEST_CONSOLE_WEBHOOK_SECRET}', retries: 0 }, ttl: '10m' } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(attackerHtml);
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
  await hook?.close();
  await new Promise((r) => attacker?.close(r));
});

async function signIn(context: BrowserContext, url: string, token: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(url), page.click('button[type=submit]')]);
  return page;
}

const approval = async (id: string) => (await s.w.admin('GET', `/v1/approvals/${id}`)).body;

/** A fresh pending approval, its page open in a new browser signed in as alice, and the page's CSRF token. */
async function aliceOnApproval(path: string) {
  const call = await pendingApproval(s.w, path);
  const url = `${s.w.adminUrl}/console/approvals/${call.id}`;
  const context = await browser.newContext();
  const page = await signIn(context, url, APPROVER_TOKENS.alice);
  const csrf = (await page.locator('form[action$="/approve"] input[name=csrf]').getAttribute('value'))!;
  return { call, url, context, page, csrf };
}

describe('approver console in Chromium', () => {
  it('signs in from the webhook link, refuses a wrong token, approves, and the agent retry passes', async () => {
    const call = await pendingApproval(s.w);
    const [event] = hook.forApproval(call.id);
    const url = event!.body.approval_url as string;
    expect(url).toBe(`${s.w.adminUrl}/console/approvals/${call.id}`);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await expect.poll(() => page.locator('h1').textContent()).toContain('Sign in to approve');

    // A wrong token is refused.
    await page.fill('#token', 'console-not-a-real-token-0123');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/signin')), page.click('button[type=submit]')]);
    expect(refused.status()).toBe(401);
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('not an approver or admin token');

    // The right one returns to the approval's page.
    await page.fill('#token', APPROVER_TOKENS.alice);
    await Promise.all([page.waitForURL(url), page.click('button[type=submit]')]);
    const text = await page.locator('main').innerText();
    expect(await page.locator('#status').textContent()).toBe('pending');
    for (const want of ['DELETE', 'github/repos/acme/app/branches/tmp', 'deleting needs alice', call.task_id, 'execute', 'high', 'Signed in as alice']) {
      expect(await page.locator('body').innerText()).toContain(want);
    }
    expect(text).toContain('May approve');
    await page.screenshot({ path: join(ARTIFACTS, 'console-approval.png'), fullPage: true });

    // Approve with a reason.
    await page.fill('#approve-reason', 'branch is merged');
    await Promise.all([page.waitForURL(url), page.click('button.approve')]);
    await expect.poll(() => page.locator('#status').textContent()).toBe('approved');
    expect(await page.locator('#decided').innerText()).toContain('approved by alice');
    expect(await approval(call.id)).toMatchObject({ status: 'approved', approver: 'alice', decision_reason: 'branch is merged' });

    // The agent's identical retry passes, with the write lane's credential.
    const before = s.up.seen.length;
    const retry = await fetch(`${s.w.proxyUrl}${call.path}`, { method: 'DELETE', headers: { authorization: `Bearer ${call.token}` } });
    expect(retry.status).toBe(200);
    expect(s.up.seen.slice(before).map((r) => r.headers.authorization)).toEqual(['Bearer console-gh-write-secret']);
    expect(await approval(call.id)).toMatchObject({ status: 'used' });

    // The decision is an audit event with the approver's name; the timeline tells the story.
    const log = await s.w.log();
    expect(log.find((l) => l.event === 'approval.approved' && l.approval_id === call.id)).toMatchObject({ approver: 'alice', reason: 'branch is merged', task_id: call.task_id });
    expect(log.some((l) => l.event === 'console.signed_in' && l.approver === 'alice')).toBe(true);
    await page.goto(`${s.w.adminUrl}/console/tasks/${call.task_id}`);
    const items = await page.locator('ol.timeline li').allInnerTexts();
    expect(items.some((t) => t.includes('STEP_UP DELETE github/repos/acme/app/branches/tmp'))).toBe(true);
    expect(items.some((t) => t.includes('APPROVAL APPROVED') && t.includes('by alice'))).toBe(true);
    expect(items.some((t) => t.includes('ALLOW DELETE github/repos/acme/app/branches/tmp') && t.includes('lane=write'))).toBe(true);
    expect(await page.locator('ol.timeline li.approval').count()).toBe(3); // requested, approved, used
    await page.screenshot({ path: join(ARTIFACTS, 'console-timeline.png'), fullPage: true });
    await context.close();
  });

  it('lists pending approvals with the exact call, the MCP tool and its arguments', async () => {
    const http = await pendingApproval(s.w, '/github/repos/acme/app/branches/old');
    const t = await s.w.task();
    const rpc = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'delete_page', arguments: { page: 'Runbook', cascade: true } } };
    const res = await fetch(`${s.w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(rpc) });
    const mcpId = ((await res.json()) as { error: { data: { approval_id: string } } }).error.data.approval_id;

    const context = await browser.newContext();
    const page = await signIn(context, `${s.w.adminUrl}/console/`, ADMIN_TOKEN);
    const httpCard = await page.locator(`article[data-approval-id="${http.id}"]`).innerText();
    expect(httpCard).toContain('DELETE github/repos/acme/app/branches/old');
    expect(httpCard).toContain('deleting needs alice');
    const mcpCard = await page.locator(`article[data-approval-id="${mcpId}"]`).innerText();
    expect(mcpCard).toContain('POST tools/mcp');
    expect(mcpCard).toContain('tool delete_page');
    expect(mcpCard).toContain('"page": "Runbook"');
    await page.screenshot({ path: join(ARTIFACTS, 'console-pending.png'), fullPage: true });
    await Promise.all([page.waitForURL(`**/console/approvals/${mcpId}`), page.click(`article[data-approval-id="${mcpId}"] a`)]);
    const body = await page.locator('main').innerText();
    expect(body).toContain('tools/call');
    expect(body).toContain('"page": "Runbook"');
    expect(body).toContain('"cascade": true');
    await page.screenshot({ path: join(ARTIFACTS, 'console-mcp-approval.png'), fullPage: true });
    await context.close();
  });

  it('refuses an action whose CSRF token is missing or stale', async () => {
    const { call, url, context, page, csrf: stale } = await aliceOnApproval('/github/repos/acme/app/branches/csrf');

    // Without the token.
    await page.locator('form[action$="/approve"] input[name=csrf]').evaluate((el) => el.remove());
    const [noToken] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/approve')), page.click('button.approve')]);
    expect(noToken.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('Refused');

    // With the token of a session that has ended (signed out, signed in again).
    await page.goto(url);
    await Promise.all([page.waitForURL(`${s.w.adminUrl}/console/`), page.click('header button')]);
    const again = await signIn(context, url, APPROVER_TOKENS.alice);
    await again.locator('form[action$="/deny"] input[name=csrf]').evaluate((el, v) => el.setAttribute('value', v), stale);
    await again.fill('#deny-reason', 'stale form');
    const [staleAnswer] = await Promise.all([again.waitForResponse((r) => r.url().endsWith('/deny')), again.click('button.deny')]);
    expect(staleAnswer.status()).toBe(403);
    expect(await approval(call.id)).toMatchObject({ status: 'pending' });
    await context.close();
  });

  it('a page of another origin cannot make a signed-in browser approve, even knowing the CSRF token', async () => {
    const { call, url, context, page, csrf } = await aliceOnApproval('/github/repos/acme/app/branches/forged');
    // Same site (127.0.0.1), other port: the SameSite=Strict cookie IS sent; Fetch metadata and Origin stop it.
    attackerHtml = `<!doctype html><form id="f" method="post" action="${url}/approve"><input name="csrf" value="${csrf}"><input name="reason" value="forged"></form><script>document.getElementById('f').submit()</script>`;
    const { port } = attacker.address() as AddressInfo;
    const [forged] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/approve')), page.goto(`http://127.0.0.1:${port}/`)]);
    // allHeaders(): headers() leaves out the cookie that Chromium adds.
    expect((await forged.request().allHeaders()).cookie).toMatch(/warden_console=/);
    expect(forged.status()).toBe(403);
    expect(await approval(call.id)).toMatchObject({ status: 'pending' });
    await context.close();
  });

  it('a link from another site (chat, ticket) opens the approval signed in, though the Strict cookie stays behind', async () => {
    const { call, url, context, page } = await aliceOnApproval('/github/repos/acme/app/branches/linked');
    // localhost and 127.0.0.1 are different sites: the top-level navigation arrives without the
    // SameSite=Strict cookie, and console.js retries once from the console's own page.
    const { port } = attacker.address() as AddressInfo;
    attackerHtml = `<!doctype html><a id="go" href="${url}">approval</a>`;
    await page.goto(`http://localhost:${port}/`);
    const first = page.waitForResponse((r) => r.url() === url);
    await page.click('#go');
    expect((await first).status()).toBe(401);
    await expect.poll(async () => (await page.locator('#status').count()) > 0, { timeout: 10_000 }).toBe(true);
    expect(page.url()).toBe(url);
    expect(await page.locator('#status').textContent()).toBe('pending');
    expect(await page.locator('header').innerText()).toContain('Signed in as alice');
    expect(await approval(call.id)).toMatchObject({ status: 'pending' });

    // Someone not signed in who follows the same link gets the sign-in form, then the approval.
    const stranger = await browser.newContext();
    const other = await stranger.newPage();
    await other.goto(`http://localhost:${port}/`);
    await other.click('#go');
    await expect.poll(async () => (await other.locator('#token').count()) > 0, { timeout: 10_000 }).toBe(true);
    await other.fill('#token', APPROVER_TOKENS.bob);
    await Promise.all([other.waitForURL(url), other.click('button[type=submit]')]);
    expect(await other.locator('header').innerText()).toContain('Signed in as bob');
    await stranger.close();
    await context.close();
  });

  it('the console page runs under its CSP: no violation, the script ran', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${s.w.adminUrl}/console/`);
    await page.fill('#token', APPROVER_TOKENS.bob);
    await Promise.all([page.waitForURL(`${s.w.adminUrl}/console/`), page.click('button[type=submit]')]);
    // console.js turns RFC 3339 times into local ones, keeping the original as the title.
    await expect.poll(() => page.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(violations).toEqual([]);
    await context.close();
  });
});

describe('approver console with step_up.hold', () => {
  it('an approval in the console releases the agent request that is waiting for it', async () => {
    const held = await startConsoleWarden({ step_up: { hold: '20s', ttl: '10m' } });
    try {
      const t = await held.w.task();
      const waiting = fetch(`${held.w.proxyUrl}/github/repos/acme/app/branches/held`, { method: 'DELETE', headers: { authorization: `Bearer ${t.token}` } });
      const pending = async () => (await held.w.admin('GET', '/v1/approvals?status=pending')).body.approvals as { id: string; path: string }[];
      await expect.poll(async () => (await pending()).map((a) => a.path)).toEqual(['/repos/acme/app/branches/held']);
      const id = (await pending())[0]!.id;
      const c = new ConsoleClient(held.w.adminUrl);
      await c.signIn(APPROVER_TOKENS.alice, `/console/approvals/${id}`);
      expect((await c.post(`/console/approvals/${id}/approve`, { csrf: c.csrf, reason: 'go ahead' })).status).toBe(303);
      const res = await waiting;
      expect(res.status).toBe(200);
      expect((await held.w.admin('GET', `/v1/approvals/${id}`)).body).toMatchObject({ status: 'used', approver: 'alice' });
    } finally {
      await held.close();
    }
  });
});
