// Step-up across a crash: Warden runs as a child process on a fixed state dir, is SIGKILLed
// between the step-up answer and the approval, and a new process on the same dir still knows the
// pending approval, takes the decision through its admin API and lets the identical retry pass.

import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { killWarden, startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-step-up-restart-0123456789';
process.env.TEST_WEBHOOK_SECRET = SECRET;
process.env.TEST_SUR_GH_READ = 'sur-gh-read-secret-value';
process.env.TEST_SUR_GH_WRITE = 'sur-gh-write-secret-value';
process.env.TEST_SUR_GH_ESC = 'sur-gh-escalation-secret-value';

let gh: TestUpstream;
let hook: WebhookReceiver;
const started: WardenHandle[] = [];

beforeAll(async () => {
  gh = await startUpstream();
  hook = await startWebhookReceiver(SECRET); // 202: decide later
});
afterAll(async () => {
  for (const w of started) {
    // A SIGKILLed child has already gone; close() would wait for an exit that came before.
    if (w.child && w.child.exitCode === null && w.child.signalCode === null) await w.close();
  }
  await Promise.all([gh?.close(), hook?.close()]);
});

function options(dir: string) {
  return {
    child: true,
    dir,
    upstreams: {
      github: {
        prefix: '/github',
        url: gh.url,
        lanes: bearerLanes({ read: 'TEST_SUR_GH_READ', write: 'TEST_SUR_GH_WRITE', escalation: 'TEST_SUR_GH_ESC' }),
      },
    },
    config: {
      step_up: { webhook: { url: hook.url, secret: '${env:TEST_WEBHOOK_SECRET}', backoff: '20ms', retries: 2 }, hold: '0s', ttl: '10m' },
      // The child announces its addresses on the ops log (stderr), which level "silent" would hide.
      decision_log: { path: join(dir, 'decisions.log'), level: 'info' },
    },
  };
}

async function del(w: WardenHandle, token: string, path: string) {
  const res = await fetch(w.proxyUrl + path, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any, id: res.headers.get('warden-decision-id') };
}

it('a restart between request and approval keeps the pending approval; the retry passes after it', async () => {
  const dir = tempDir('warden-step-up-restart-');
  const w1 = await startWarden(options(dir));
  started.push(w1);
  const t = await w1.task({ user: { id: 'dana', roles: ['maintainer'] }, stage: 'execute', scopes: ['github:write', 'tools:write'] });
  const path = '/github/repos/acme/app/branches/crash';

  const first = await del(w1, t.token, path);
  expect(first.status).toBe(401);
  expect(first.body.error).toBe('approval_required');
  const id = first.body.approval_id as string;
  expect(hook.forApproval(id)).toHaveLength(1);

  await killWarden(w1);

  const w2 = await startWarden(options(dir));
  started.push(w2);
  const pending = await w2.admin('GET', '/v1/approvals?status=pending');
  expect(pending.status).toBe(200);
  expect(pending.body.approvals.find((a: any) => a.id === id)).toMatchObject({ status: 'pending', task_id: t.task_id, method: 'DELETE', path: '/repos/acme/app/branches/crash' });

  // Before the decision the identical call joins the same approval: no second webhook.
  const again = await del(w2, t.token, path);
  expect(again.status).toBe(401);
  expect(again.body.approval_id).toBe(id);
  expect(hook.forApproval(id)).toHaveLength(1);
  expect(gh.seen).toHaveLength(0);

  const ok = await w2.admin('POST', `/v1/approvals/${id}/approve`, { approver: 'lena', reason: 'after the restart' });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ status: 'approved', approver: 'lena' });

  const retry = await del(w2, t.token, path);
  expect(retry.status).toBe(200);
  expect(gh.seen).toHaveLength(1);
  expect(gh.seen[0]!.headers.authorization).toBe('Bearer sur-gh-escalation-secret-value');
  expect(gh.seen[0]!.url).toBe('/repos/acme/app/branches/crash');

  // Once more: used, so a new approval is needed.
  const third = await del(w2, t.token, path);
  expect(third.status).toBe(401);
  expect(third.body.approval_id).not.toBe(id);

  // A clean stop flushes the decision log: one line per request of the second process.
  await w2.close();
  const log = (await w2.log());
  for (const r of [again, retry, third]) expect(log.filter((l) => l.type === 'decision' && l.decision_id === r.id)).toHaveLength(1);
  expect(log.find((l) => l.decision_id === retry.id)).toMatchObject({ outcome: 'allow', approval: id, lane: 'escalation' });
  const ev = log.filter((l) => l.type === 'event' && l.approval_id === id).map((l) => [l.event, l.approver]);
  expect(ev).toContainEqual(['approval.approved', 'lena']);
  expect(ev).toContainEqual(['approval.used', undefined]);
});
