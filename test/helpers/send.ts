// One request through Warden, with its answer read and how many requests the upstream received
// meanwhile (so a test can say "not forwarded" without counting by hand).

import type { TestUpstream } from './upstream.js';
import type { WardenHandle } from './warden.js';

export async function sendThrough(w: WardenHandle, up: TestUpstream, path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const before = up.seen.length;
  const res = await fetch(`${w.proxyUrl}${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {} });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { res, status: res.status, text, body, forwarded: up.seen.length - before, id: res.headers.get('warden-decision-id') };
}
