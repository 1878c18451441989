// The sign-in form: a token in a password field, POSTed (a token never travels in a URL), with
// the anonymous session's CSRF token and the page to return to.

import { html } from '../html.js';
import { layout } from './layout.js';

export interface SignInView {
  readonly csrf: string;
  /** The console page to return to after signing in (already checked to be one). */
  readonly next: string;
  readonly error?: string;
}

export function signInPage(v: SignInView): string {
  return layout(
    { title: 'Sign in' },
    html`<section class="signin card">
<h1>Sign in to approve</h1>
${v.error ? html`<p class="notice error" role="alert">${v.error}</p>` : ''}
<form method="post" action="/console/signin" autocomplete="off">
<input type="hidden" name="csrf" value="${v.csrf}">
<input type="hidden" name="next" value="${v.next}">
<label for="token">Approver or admin token</label>
<input type="password" id="token" name="token" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="muted">Your name in the audit log comes from the token you sign in with.</p>
</section>`,
  );
}

/**
 * The answer to a top-level link from another site (chat, ticket): the SameSite=Strict cookie did
 * not come with it, so it may be a signed-in approver. console.js follows the link again from this
 * page, a same-site navigation that carries the cookie; without script, the link does the same.
 * No session is made here: a cookie set now would replace the approver's own.
 */
export function continuePage(path: string): string {
  return layout({ title: 'Opening', retryWithCookie: true }, html`<section class="signin card">
<h1>Opening the console…</h1>
<p><a id="continue" href="${path}">Continue</a></p>
</section>`);
}
