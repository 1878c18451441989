// The approver console on the admin listener (DESIGN.md `/console/`): sign-in with the admin
// token or a named approver token, the pending approvals, one approval's page with the approve
// and deny forms, and a task's timeline. The console authenticates with its own session cookie,
// never a bearer token: the admin server hands every /console path here before its token check.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, WardenError, isWardenError, type ErrorCode } from '../errors.js';
import type { Approval } from '../store/approvals.js';
import { ASSETS } from './assets.js';
import { mayDecide, type ApproverTokens } from './approver-tokens.js';
import { clearCookie, csrfMatches, sameOrigin, sessionCookie, setCookie, SECURITY_HEADERS } from './guard.js';
import { approvalPage, listPage } from './pages/approvals.js';
import type { Frame } from './pages/layout.js';
import { messagePage } from './pages/message.js';
import { continuePage, signInPage } from './pages/sign-in.js';
import { taskPage } from './pages/timeline.js';
import { readForm, redirect, sendHtml } from './respond.js';
import type { ConsoleSessions, Session } from './sessions.js';
import type { TaskTimelines } from './task-timeline.js';

/** What the console needs of the step-up manager. */
export interface ConsoleApprovals {
  list(status?: 'pending'): Promise<Approval[]>;
  get(id: string): Promise<Approval | undefined>;
  /** Throws APPROVAL_CONFLICT when it is no longer pending. */
  approve(id: string, approver: string, reason?: string): Promise<Approval | undefined>;
  deny(id: string, approver: string, reason: string): Promise<Approval | undefined>;
}

export interface ConsoleDeps {
  readonly approvals: ConsoleApprovals;
  readonly tokens: ApproverTokens;
  readonly sessions: ConsoleSessions;
  /** The decision log's lifecycle events. */
  readonly audit: { event(name: string, fields: Record<string, unknown>): void };
  readonly timelines: TaskTimelines;
  /** Mark the cookie Secure (the console is reached over https). */
  readonly secureCookies: boolean;
  readonly now?: () => number;
}

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const ID = /^[A-Za-z0-9._~:-]{1,200}$/;
const MAX_REASON = 1000;
const RECENT = 20;

/** Where a sign-in may return to: a console page, never another site. */
function safeNext(next: string | null): string {
  return next !== null && /^\/console\/(?:(?:approvals|tasks)\/[A-Za-z0-9._~:-]{1,200})?$/.test(next) ? next : '/console/';
}

type Refusal = { code: ErrorCode; action: string; session?: Session | undefined; text?: string };

export function createConsole(deps: ConsoleDeps): ConsoleHandler {
  const now = deps.now ?? Date.now;
  const { sessions } = deps;
  const cookie = (s: Session): Record<string, string> => ({ 'set-cookie': setCookie(s.id, sessions.maxAgeSeconds(s), deps.secureCookies) });
  const frameOf = (s: Session | undefined, title = 'Refused'): Frame => ({ title, ...(s?.approver && { session: { approver: s.approver, csrf: s.csrf } }) });

  /** A page that only says why nothing happened. */
  function say(res: ServerResponse, status: number, session: Session | undefined, heading: string, text: string, back?: string, headers?: Record<string, string>): void {
    sendHtml(res, status, messagePage(frameOf(session, heading), heading, text, back), headers);
  }

  function refuse(res: ServerResponse, r: Refusal): void {
    deps.audit.event('console.refused', { code: r.code, action: r.action, ...(r.session?.approver && { approver: r.session.approver }) });
    sendHtml(res, ERRORS[r.code].status, messagePage(frameOf(r.session), 'Refused', r.text ?? ERRORS[r.code].message));
  }

  /** The sign-in form, on the anonymous session of this visitor (made when it has none). */
  function signIn(res: ServerResponse, status: number, next: string, current: Session | undefined, error?: string): void {
    const anon = current && !current.approver ? current : sessions.anonymous();
    sendHtml(res, status, signInPage({ csrf: anon.csrf, next, ...(error && { error }) }), anon === current ? {} : cookie(anon));
  }

  /** A page asked for without a session: the sign-in form, or a same-site retry of a link from another site. */
  function signInFor(req: IncomingMessage, res: ServerResponse, path: string, current: Session | undefined): void {
    const site = req.headers['sec-fetch-site'];
    const linkedFromElsewhere = sessionCookie(req.headers) === undefined && (site === 'cross-site' || site === 'same-site');
    if (linkedFromElsewhere && req.method === 'GET') return sendHtml(res, 401, continuePage(safeNext(path)));
    return signIn(res, 401, safeNext(path), current);
  }

  async function page(req: IncomingMessage, res: ServerResponse, rest: readonly string[], session: Session | undefined, path: string): Promise<void> {
    if (!session?.approver) return signInFor(req, res, path, session);
    const view = { approver: session.approver, csrf: session.csrf };
    const t = now();
    if (rest.length === 0) {
      const pending = (await deps.approvals.list('pending')).filter((a) => a.expires_at > t);
      const recent = (await deps.approvals.list()).filter((a) => a.status !== 'pending').slice(0, RECENT);
      return sendHtml(res, 200, listPage(view, pending, recent, t));
    }
    const [kind, id] = rest;
    if (kind === 'approvals' && id !== undefined && rest.length === 2) {
      const a = ID.test(id) ? await deps.approvals.get(id) : undefined;
      if (!a) return say(res, 404, session, 'Not found', 'There is no approval with this id.');
      const timeline = a.task_id ? await deps.timelines(a.task_id) : undefined;
      return sendHtml(res, 200, approvalPage({ session: view, approval: a, now: t, mayDecide: mayDecide(session.approver, a.approvers), timeline }));
    }
    if (kind === 'tasks' && id !== undefined && rest.length === 2 && ID.test(id)) {
      return sendHtml(res, 200, taskPage(view, id, await deps.timelines(id)));
    }
    return say(res, 404, session, 'Not found', 'There is no such console page.');
  }

  async function post(req: IncomingMessage, res: ServerResponse, rest: readonly string[], session: Session | undefined): Promise<void> {
    const action = rest.length === 3 && rest[0] === 'approvals' ? rest[2]! : rest.join('/');
    if (!['signin', 'signout', 'approve', 'deny'].includes(action)) return say(res, 404, session, 'Not found', 'There is no such console action.');
    // Cross-site first: a post from another page is refused before its body is even read.
    if (!sameOrigin(req.headers)) return refuse(res, { code: 'CONSOLE_CSRF_REFUSED', action, session });
    const form = await readForm(req);
    if (action === 'signin') {
      if (!session) return signIn(res, 403, safeNext(form.get('next')), undefined, 'The sign-in form expired; please sign in again.');
      if (!csrfMatches(session, form.get('csrf'))) return refuse(res, { code: 'CONSOLE_CSRF_REFUSED', action, session });
      const name = deps.tokens.identify(form.get('token') ?? '');
      if (name === undefined) {
        deps.audit.event('console.refused', { code: 'CONSOLE_SIGNIN_FAILED' satisfies ErrorCode, action });
        return signIn(res, 401, safeNext(form.get('next')), session, 'That is not an approver or admin token.');
      }
      const signedIn = sessions.signIn(name, session);
      deps.audit.event('console.signed_in', { approver: name });
      return redirect(res, safeNext(form.get('next')), cookie(signedIn));
    }
    if (!session?.approver) return refuse(res, { code: 'CONSOLE_SESSION_REQUIRED', action, session });
    if (!csrfMatches(session, form.get('csrf'))) return refuse(res, { code: 'CONSOLE_CSRF_REFUSED', action, session });
    if (action === 'signout') {
      sessions.end(session);
      deps.audit.event('console.signed_out', { approver: session.approver });
      return redirect(res, '/console/', { 'set-cookie': clearCookie(deps.secureCookies) });
    }
    return decide(req, res, session, rest[1]!, action as 'approve' | 'deny', form);
  }

  async function decide(req: IncomingMessage, res: ServerResponse, session: Session, id: string, action: 'approve' | 'deny', form: URLSearchParams): Promise<void> {
    const approver = session.approver!;
    const a = ID.test(id) ? await deps.approvals.get(id) : undefined;
    if (!a) return say(res, 404, session, 'Not found', 'There is no approval with this id.');
    const back = `/console/approvals/${encodeURIComponent(a.id)}`;
    if (!mayDecide(approver, a.approvers)) return refuse(res, { code: 'CONSOLE_NOT_APPROVER', action, session });
    const reason = (form.get('reason') ?? '').trim();
    if (reason.length > MAX_REASON || (action === 'deny' && reason === '')) {
      return say(res, 400, session, 'Not decided', action === 'deny' ? 'A denial needs a reason (at most 1000 characters).' : 'The reason is longer than 1000 characters.', back);
    }
    try {
      // The name comes from the session's token, never from the form.
      if (action === 'approve') await deps.approvals.approve(a.id, approver, reason || undefined);
      else await deps.approvals.deny(a.id, approver, reason);
    } catch (err) {
      if (isWardenError(err) && err.code === 'APPROVAL_CONFLICT') {
        return say(res, 409, session, 'Not decided', 'This approval is no longer pending: it was decided, used, cancelled or has expired.', back);
      }
      throw err;
    }
    return redirect(res, back);
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const segments = url.pathname.split('/').filter(Boolean);
    const rest = segments.slice(1);
    const method = req.method ?? 'GET';
    try {
      if (url.pathname === '/console') return redirect(res, '/console/');
      if ((method === 'GET' || method === 'HEAD') && rest[0] === 'assets' && rest.length === 2) {
        const asset = ASSETS.get(rest[1]!);
        if (!asset) return sendHtml(res, 404, messagePage({ title: 'Not found' }, 'Not found', 'No such asset.'));
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, etag: asset.etag });
        return void res.end(asset.body);
      }
      const session = sessions.get(sessionCookie(req.headers));
      if (method === 'GET' || method === 'HEAD') return await page(req, res, rest, session, url.pathname);
      if (method === 'POST') return await post(req, res, rest, session);
      return say(res, 405, session, 'Not allowed', `${method} is not used by the console.`, undefined, { allow: 'GET, HEAD, POST' });
    } catch (err) {
      if (!isWardenError(err) || err.code === 'INTERNAL') throw err;
      const e: WardenError = err;
      if (!res.headersSent) sendHtml(res, e.status, messagePage({ title: 'Error' }, 'Error', ERRORS[e.code].message));
    }
  };
}
