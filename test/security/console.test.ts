// Attacks on the approver console, at the HTTP level (the Chromium run is
// test/integration/console.test.ts). Each test names the defence it checks; each was seen to
// fail with that defence removed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, APPROVER_TOKENS, ConsoleClient, pendingApproval, startConsoleWarden, type ConsoleSetup } from '../helpers/console.js';
import { rawRequest } from '../helpers/raw-http.js';

let s: ConsoleSetup;
beforeAll(async () => {
  s = await startConsoleWarden();
});
afterAll(async () => {
  await s?.close();
});

const status = async (id: string): Promise<string> => (await s.w.admin('GET', `/v1/approvals/${id}`)).body.status as string;
const events = async (name: string) => (await s.w.log()).filter((l) => l.type === 'event' && l.event === name);

async function signedIn(token: string = APPROVER_TOKENS.alice): Promise<ConsoleClient> {
  const c = new ConsoleClient(s.w.adminUrl);
  const r = await c.signIn(token);
  expect(r.status).toBe(303);
  return c;
}

describe('console sign-in', () => {
  it('refuses a wrong token: 401, no signed-in session, logged without the token', async () => {
    const c = new ConsoleClient(s.w.adminUrl);
    const anon = (await c.get('/console/'), c.cookie);
    const r = await c.post('/console/signin', { csrf: c.csrf, token: 'console-wrong-token-0123456789', next: '/console/' });
    expect(r.status).toBe(401);
    expect(r.body).toContain('That is not an approver or admin token.');
    expect(c.cookie).toBe(anon);
    expect((await c.get('/console/')).status).toBe(401);
    expect((await c.get('/console/')).body).toContain('Sign in to approve');
    const refused = (await events('console.refused')).filter((e) => e.code === 'CONSOLE_SIGNIN_FAILED');
    expect(refused).toHaveLength(1);
    expect(JSON.stringify(await s.w.log())).not.toContain('console-wrong-token');
  });

  it.each([
    ['the admin token', ADMIN_TOKEN, 'admin'],
    ['an approver token', APPROVER_TOKENS.bob, 'bob'],
  ])('signs in with %s under its name, with a fresh session id (no fixation)', async (_n, token, name) => {
    const c = new ConsoleClient(s.w.adminUrl);
    await c.get('/console/');
    const anonymous = c.cookie!;
    const r = await c.post('/console/signin', { csrf: c.csrf, token, next: '/console/' });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/console/');
    expect(c.cookie).not.toBe(anonymous);
    const page = await c.get('/console/');
    expect(page.status).toBe(200);
    expect(page.body).toContain(`Signed in as <strong>${name}</strong>`);
    // The pre-sign-in id is dead: a planted (fixated) id never becomes a signed-in session.
    const planted = await rawRequest(s.w.adminUrl, '/console/', { headers: { cookie: `warden_console=${anonymous}` } });
    expect(planted.status).toBe(401);
    expect((await events('console.signed_in')).some((e) => e.approver === name)).toBe(true);
  });

  it('never takes a token from the URL', async () => {
    const c = new ConsoleClient(s.w.adminUrl);
    const r = await c.get(`/console/signin?token=${ADMIN_TOKEN}`);
    expect(r.body).not.toContain('Signed in as');
    expect((await c.get(`/console/?token=${ADMIN_TOKEN}`)).status).toBe(401);
    // The form posts the token in the body.
    expect(r.body).toMatch(/<form method="post" action="\/console\/signin"/);
    expect(r.body).toContain('type="password" id="token" name="token"');
  });

  it('a request from another site cannot replace the session cookie', async () => {
    const c = await signedIn();
    // A cross-site top-level link arrives without the SameSite=Strict cookie; the answer must not set one.
    const r = await rawRequest(s.w.adminUrl, '/console/', { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(r.status).toBe(401);
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.body).toContain('data-retry-with-cookie');
    expect((await c.get('/console/')).status).toBe(200);
  });

  it('the session cookie is HttpOnly, SameSite=Strict, Path=/console and random', async () => {
    const c = new ConsoleClient(s.w.adminUrl);
    await c.get('/console/');
    const r = await c.post('/console/signin', { csrf: c.csrf, token: APPROVER_TOKENS.alice, next: '/console/' });
    const set = [r.headers['set-cookie']].flat()[0]!;
    expect(set).toMatch(/^warden_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(r.headers.location).not.toContain(APPROVER_TOKENS.alice);
  });

  it('returns to a console page only, never to another site', async () => {
    const c = new ConsoleClient(s.w.adminUrl);
    await c.get('/console/');
    const r = await c.post('/console/signin', { csrf: c.csrf, token: APPROVER_TOKENS.alice, next: 'https://evil.example/console/' });
    expect(r.headers.location).toBe('/console/');
    const c2 = new ConsoleClient(s.w.adminUrl);
    await c2.get('/console/');
    expect((await c2.post('/console/signin', { csrf: c2.csrf, token: APPROVER_TOKENS.alice, next: '//evil.example/console/' })).headers.location).toBe('/console/');
  });

  it('signing out ends the session on the server', async () => {
    const c = await signedIn();
    const old = c.cookie!;
    const out = await c.post('/console/signout', { csrf: c.csrf });
    expect(out.status).toBe(303);
    expect((await rawRequest(s.w.adminUrl, '/console/', { headers: { cookie: `warden_console=${old}` } })).status).toBe(401);
  });
});

describe('console CSRF', () => {
  it('refuses an approval without the CSRF token', async () => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    const r = await c.post(`/console/approvals/${id}/approve`, { reason: 'no token' });
    expect(r.status).toBe(403);
    expect(await status(id)).toBe('pending');
    expect((await events('console.refused')).some((e) => e.code === 'CONSOLE_CSRF_REFUSED' && e.approver === 'alice')).toBe(true);
  });

  it('refuses the CSRF token of another session, and a stale one from before signing in again', async () => {
    const { id } = await pendingApproval(s.w);
    const alice = await signedIn();
    const bob = await signedIn(APPROVER_TOKENS.bob);
    expect((await alice.post(`/console/approvals/${id}/approve`, { csrf: bob.csrf })).status).toBe(403);
    const stale = alice.csrf!;
    await alice.post('/console/signout', { csrf: alice.csrf });
    await alice.signIn(APPROVER_TOKENS.alice);
    expect(alice.csrf).not.toBe(stale);
    expect((await alice.post(`/console/approvals/${id}/approve`, { csrf: stale })).status).toBe(403);
    expect(await status(id)).toBe('pending');
    expect((await alice.post(`/console/approvals/${id}/approve`, { csrf: alice.csrf })).status).toBe(303);
    expect(await status(id)).toBe('approved');
  });

  it.each([
    // Other origins on loopback: a foreign host is refused by the listener before the console (ORIGIN_REFUSED).
    ['another origin', { origin: 'http://127.0.0.1:1' }],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }],
    ['a same-site page of another origin', { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1' }],
    ['a matching Origin but a cross-site fetch', { 'sec-fetch-site': 'cross-site' }],
    ['a browser without Fetch metadata, another origin', { origin: 'http://localhost:1', 'sec-fetch-site': undefined }],
    ['neither Origin nor Sec-Fetch-Site', { origin: undefined, 'sec-fetch-site': undefined }],
  ])('refuses a post from %s even with the right CSRF token', async (_name, headers) => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    const r = await c.post(`/console/approvals/${id}/deny`, { csrf: c.csrf, reason: 'forged' }, headers);
    expect(r.status).toBe(403);
    expect(r.body).toContain('the form did not come from this console session');
    expect(await status(id)).toBe('pending');
  });

  it.each([
    ['Chromium under no-referrer (Origin: null, Sec-Fetch-Site: same-origin)', { origin: 'null', 'sec-fetch-site': 'same-origin' }],
    ['a browser without Fetch metadata (Origin only)', { 'sec-fetch-site': undefined }],
  ])('accepts a post from this origin as sent by %s', async (_name, headers) => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    expect((await c.post(`/console/approvals/${id}/approve`, { csrf: c.csrf }, headers)).status).toBe(303);
    expect(await status(id)).toBe('approved');
  });

  it.each([
    ['an opaque origin', { origin: 'null', 'sec-fetch-site': undefined }],
    ['an opaque origin, cross-site', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['a foreign host', { origin: 'http://evil.example' }],
  ])('the listener refuses a post from %s before the console (ORIGIN_REFUSED)', async (_name, headers) => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    const r = await c.post(`/console/approvals/${id}/deny`, { csrf: c.csrf, reason: 'forged' }, headers);
    expect(r.status).toBe(403);
    expect(r.body).toContain('ORIGIN_REFUSED');
    expect(await status(id)).toBe('pending');
  });

  it('refuses a sign-in post from another site (login CSRF)', async () => {
    const c = new ConsoleClient(s.w.adminUrl);
    await c.get('/console/');
    const anonymous = c.cookie;
    const r = await c.post('/console/signin', { csrf: c.csrf, token: APPROVER_TOKENS.alice }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(r.status).toBe(403);
    expect(c.cookie).toBe(anonymous);
  });

  it('refuses a sign-in without the form token', async () => {
    const c = new ConsoleClient(s.w.adminUrl);
    await c.get('/console/');
    expect((await c.post('/console/signin', { token: APPROVER_TOKENS.alice })).status).toBe(403);
    expect((await c.get('/console/')).status).toBe(401);
  });

  it('refuses a form that is not urlencoded (text/plain from a cross-site form)', async () => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    const r = await c.post(`/console/approvals/${id}/approve`, { csrf: c.csrf }, { 'content-type': 'text/plain' });
    expect(r.status).toBe(400);
    expect(await status(id)).toBe('pending');
  });
});

describe('console decisions', () => {
  it('records the approver from the session, never from a form field', async () => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    const r = await c.post(`/console/approvals/${id}/approve`, { csrf: c.csrf, reason: 'looks right', approver: 'mallory' });
    expect(r.status).toBe(303);
    const a = (await s.w.admin('GET', `/v1/approvals/${id}`)).body;
    expect(a).toMatchObject({ status: 'approved', approver: 'alice', decision_reason: 'looks right' });
    expect((await events('approval.approved')).find((e) => e.approval_id === id)).toMatchObject({ approver: 'alice', reason: 'looks right' });
  });

  it('refuses an approver the policy does not name; the admin token may decide', async () => {
    const { id } = await pendingApproval(s.w);
    const bob = await signedIn(APPROVER_TOKENS.bob);
    const page = await bob.get(`/console/approvals/${id}`);
    expect(page.body).toContain('The policy names alice as approvers of this call');
    expect(page.body).not.toContain('/approve"');
    expect((await bob.post(`/console/approvals/${id}/approve`, { csrf: bob.csrf })).status).toBe(403);
    expect(await status(id)).toBe('pending');
    const admin = await signedIn(ADMIN_TOKEN);
    expect((await admin.post(`/console/approvals/${id}/deny`, { csrf: admin.csrf, reason: 'not today' })).status).toBe(303);
    expect((await s.w.admin('GET', `/v1/approvals/${id}`)).body).toMatchObject({ status: 'denied', approver: 'admin', decision_reason: 'not today' });
  });

  it('a denial needs a reason; a decided approval cannot be decided again', async () => {
    const { id } = await pendingApproval(s.w);
    const c = await signedIn();
    expect((await c.post(`/console/approvals/${id}/deny`, { csrf: c.csrf, reason: '  ' })).status).toBe(400);
    expect((await c.post(`/console/approvals/${id}/approve`, { csrf: c.csrf })).status).toBe(303);
    expect((await c.post(`/console/approvals/${id}/deny`, { csrf: c.csrf, reason: 'too late' })).status).toBe(409);
    expect(await status(id)).toBe('approved');
  });

  it('escapes what the agent sent: MCP arguments cannot inject markup', async () => {
    const t = await s.w.task();
    const rpc = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_page', arguments: { title: '<script>alert(1)</script>', note: '"><img src=x onerror=alert(2)>' } } };
    const res = await fetch(`${s.w.proxyUrl}/tools/mcp`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(rpc) });
    const id = ((await res.json()) as { error: { data: { approval_id: string } } }).error.data.approval_id;
    const c = await signedIn();
    const page = await c.get(`/console/approvals/${id}`);
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).not.toContain('<img src=x');
  });
});

describe('console answers', () => {
  it('every answer carries the strict CSP and the other security headers', async () => {
    const c = await signedIn();
    for (const path of ['/console/', '/console/assets/console.js', '/console/assets/console.css', '/console/approvals/nope', '/console/tasks/none']) {
      const r = await c.get(path);
      expect(r.headers['content-security-policy']).toBe("default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['cache-control']).toBe('no-store');
    }
    const signInPage = await new ConsoleClient(s.w.adminUrl).get('/console/');
    expect(signInPage.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    // No inline script or style anywhere: the CSP could not allow it.
    expect(signInPage.body).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style="| on[a-z]+=/);
  });

  it('the admin API still wants its bearer token; the console cookie is no substitute', async () => {
    const c = await signedIn(ADMIN_TOKEN);
    const r = await rawRequest(s.w.adminUrl, '/v1/approvals', { headers: { cookie: `warden_console=${c.cookie}` } });
    expect(r.status).toBe(401);
  });
});

describe('console behind TLS', () => {
  it('marks the cookie Secure when approvers reach the console over https (step_up.approval_url)', async () => {
    const tls = await startConsoleWarden({ step_up: { approval_url: 'https://approvals.example/console/approvals/{id}' } });
    try {
      const c = new ConsoleClient(tls.w.adminUrl);
      const r = await c.get('/console/');
      expect([r.headers['set-cookie']].flat()[0]).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    } finally {
      await tls.close();
    }
  });
});
