// The sign-in form: a token in a password field, POSTed (a token never travels in a URL), with
// the anonymous session's CSRF token and the page to return to.

import { html } from '../html.js';
import { layout } from './layout.js';

export interface SignInView {
  readonly csrf: string;
  /** The console page to return to after signing in (already checked to be one). */
  readonly next: string;
  readonly error?: string;
  readonly retryWithCookie?: boolean;
}

export function signInPage(v: SignInView): string {
  return layout(
    { title: 'Sign in', ...(v.retryWithCookie && { retryWithCookie: true }) },
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
