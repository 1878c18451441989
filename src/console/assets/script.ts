// The console's only script, served as /console/assets/console.js (a file of its own, so the CSP
// can forbid inline script). The pages work without it: it adds local times, keeps the pending
// list fresh, and lets a link from another site (chat, ticket) find the SameSite=Strict cookie.
// Kept as text here so that the compiled build and the sources serve the same bytes without a
// copy step.

export const CONSOLE_JS = `'use strict';
(function () {
  var body = document.body;
  // A top-level link from another site arrives without the SameSite=Strict session cookie. A
  // navigation started by this page is same-site, so it carries the cookie: try once.
  if (body.hasAttribute('data-retry-with-cookie')) {
    if (!sessionStorage.getItem('warden-console-retried')) {
      sessionStorage.setItem('warden-console-retried', '1');
      location.replace(location.href);
      return;
    }
  }
  sessionStorage.removeItem('warden-console-retried');

  document.querySelectorAll('time[datetime]').forEach(function (t) {
    var d = new Date(t.getAttribute('datetime'));
    if (isNaN(d.getTime())) return;
    t.title = t.getAttribute('datetime');
    t.textContent = d.toLocaleString();
  });

  // One submit per form: a double click must not send a second decision.
  document.querySelectorAll('form').forEach(function (f) {
    f.addEventListener('submit', function () {
      setTimeout(function () {
        f.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  // The pending list refreshes itself while nobody is typing a reason.
  var every = Number(body.getAttribute('data-refresh'));
  if (every > 0) {
    setInterval(function () {
      var typing = Array.prototype.some.call(document.querySelectorAll('input[type=text], input[type=password], textarea'), function (i) { return i.value !== ''; });
      if (!typing && document.visibilityState === 'visible') location.replace(location.href);
    }, every * 1000);
  }
})();
`;
