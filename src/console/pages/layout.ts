// The frame of every console page: the style sheet and the one script (both files of their own,
// so the CSP can forbid inline code), and who is signed in with the sign-out form.

import { html, type Html } from '../html.js';

/** The signed-in approver and the session's CSRF token, as the pages show them. */
export interface SessionView {
  readonly approver: string;
  readonly csrf: string;
}

export interface Frame {
  readonly title: string;
  /** The signed-in approver and the session's CSRF token (for the sign-out form). */
  readonly session?: SessionView;
  /** Seconds between reloads of a list page. */
  readonly refresh?: number;
  /** Reload once from the page (a cross-site link arrives without the SameSite=Strict cookie). */
  readonly retryWithCookie?: boolean;
}

export function layout(f: Frame, main: Html): string {
  const who = f.session
    ? html`<span class="who">Signed in as <strong>${f.session.approver}</strong></span>
      <form method="post" action="/console/signout"><input type="hidden" name="csrf" value="${f.session.csrf}"><button class="link" type="submit">Sign out</button></form>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${f.title} · Warden</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body${f.refresh ? html` data-refresh="${f.refresh}"` : ''}${f.retryWithCookie ? html` data-retry-with-cookie` : ''}>
<header><a href="/console/">Warden approvals</a>${who}</header>
<main>
${main}
</main>
</body>
</html>
`.text;
}

/** A time for people: RFC 3339 in the markup, shown in the reader's zone by the script. */
export function time(ms: number | string | null | undefined): Html | string {
  if (ms === null || ms === undefined || ms === '') return '';
  const iso = typeof ms === 'number' ? new Date(ms).toISOString() : ms;
  return html`<time datetime="${iso}">${iso}</time>`;
}
