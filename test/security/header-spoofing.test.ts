// Agent-sent control and credential headers (src/proxy/headers.ts planRequestHeaders, the order of
// header merging in src/proxy/pipeline.ts outgoingHeaders()): an agent may not speak for Warden
// (`warden-*`), may not pass its own credentials or a lane's header to the upstream, and the policy
// input never carries a credential. The lanes here use their own headers (`x-gh-read`,
// `x-gh-write`) so that the agent's `authorization` (its task token) is visible if it leaks.
//
// Each test fails if its defence goes: without the `warden-` prefix rule the forged headers reach
// the upstream and the input; without CREDENTIAL_HEADERS the agent's cookie and api key pass;
// without the per-upstream drop set the agent's own `x-gh-write` passes on a read call, and the
// identity header (the task token) reaches the upstream; if the policy or lane headers were
// spread before the agent's, the agent's values would win.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lane } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_HDR_READ = 'sec-hdr-read-secret';
process.env.SEC_HDR_WRITE = 'sec-hdr-write-secret';

let github: TestUpstream;
let w: WardenHandle;
let task: { task_id: string; token: string };

beforeAll(async () => {
  ({ upstream: github, w, task } = await startProxyPair({
    name: 'github',
    upstream: { lanes: { read: lane('x-gh-read', 'SEC_HDR_READ'), write: lane('x-gh-write', 'SEC_HDR_WRITE') } },
  }));
  github.on('/forged-answer', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'warden-approval': 'granted', 'warden-decision-id': 'forged-by-upstream', 'x-kept': 'yes' });
    res.end('ok');
  });
});
afterAll(() => closeAll(w, github));

async function decisionFor(res: Response): Promise<Record<string, any>> {
  const id = res.headers.get('warden-decision-id');
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return w.decisionFor(id);
}

describe('agent-sent warden-* and credential headers', () => {
  it('strips agent-sent warden-* headers before the upstream and keeps them out of the policy input', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, {
      headers: {
        authorization: `Bearer ${task.token}`,
        'warden-decision-id': 'forged-id',
        'warden-approval': 'appr-forged',
        'warden-task': 'some-other-task',
        'Warden-Stage': 'execute',
        'x-visible': 'yes',
      },
    });
    expect(res.status).toBe(200);
    const realId = res.headers.get('warden-decision-id');
    expect(realId).not.toBe('forged-id');
    const seen = github.seen.at(-1)!;
    expect(seen.headers['x-visible']).toBe('yes'); // control: ordinary headers pass
    expect(seen.headers['warden-decision-id']).toBe(realId);
    expect(seen.headers['warden-approval']).toBeUndefined();
    expect(seen.headers['warden-task']).toBeUndefined();
    expect(seen.headers['warden-stage']).toBeUndefined();
    const line = await decisionFor(res);
    const inputHeaders = line.input.request.headers as Record<string, string>;
    expect(inputHeaders['x-visible']).toBe('yes');
    expect(Object.keys(inputHeaders).filter((h) => h.startsWith('warden-'))).toEqual([]);
    // Identity and approval come from verified sources only.
    expect(line.input.task.id).toBe(task.task_id);
    expect(line.input.approval).toBeUndefined();
    expect(line.approval).toBeUndefined();
  });

  it('never forwards the agent\'s authorization (its task token), cookie or api key; only the lane credential goes', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, {
      headers: { authorization: `Bearer ${task.token}`, cookie: 'session=agent-cookie', 'x-api-key': 'agent-api-key', 'api-key': 'agent-api-key-2' },
    });
    expect(res.status).toBe(200);
    const seen = github.seen.at(-1)!;
    expect(seen.headers['x-gh-read']).toBe('sec-hdr-read-secret');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['api-key']).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(task.token);
  });

  it('replaces an agent-sent lane header with the injected credential, never both', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${task.token}`, 'x-gh-read': 'agent-own-read-token' } });
    expect(res.status).toBe(200);
    expect(github.seen.at(-1)!.headers['x-gh-read']).toBe('sec-hdr-read-secret');
  });

  it('does not forward another lane\'s header that the agent sends (a read call carrying x-gh-write)', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${task.token}`, 'x-gh-write': 'agent-forged-write-token' } });
    expect(res.status).toBe(200);
    const seen = github.seen.at(-1)!;
    expect(seen.headers['x-gh-read']).toBe('sec-hdr-read-secret');
    expect(seen.headers['x-gh-write']).toBeUndefined();
  });

  it('keeps authorization, cookie, api keys and lane headers out of the policy input', async () => {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, {
      headers: { authorization: `Bearer ${task.token}`, cookie: 'session=agent-cookie', 'x-api-key': 'k', 'x-gh-read': 'r', 'x-gh-write': 'w', 'proxy-authorization': 'Basic eDp5' },
    });
    expect(res.status).toBe(200);
    const line = await decisionFor(res);
    const names = Object.keys(line.input.request.headers as object);
    for (const h of ['authorization', 'cookie', 'x-api-key', 'x-gh-read', 'x-gh-write', 'proxy-authorization']) expect(names).not.toContain(h);
    expect(JSON.stringify(line)).not.toContain(task.token);
  });

  it('lets a policy header win over an agent header of the same name (x-warden-stage)', async () => {
    // The example policy adds `x-warden-stage: <task stage>` on allow; the agent tries to pre-set it.
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app`, { headers: { authorization: `Bearer ${task.token}`, 'x-warden-stage': 'review' } });
    expect(res.status).toBe(200);
    expect(github.seen.at(-1)!.headers['x-warden-stage']).toBe('execute');
  });

  it('does not relay upstream-sent warden-* headers to the agent', async () => {
    const res = await fetch(`${w.proxyUrl}/github/forged-answer`, { headers: { authorization: `Bearer ${task.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-kept')).toBe('yes');
    expect(res.headers.get('warden-approval')).toBeNull();
    expect(res.headers.get('warden-decision-id')).not.toBe('forged-by-upstream');
    const line = await decisionFor(res);
    expect(line.decision_id).toBe(res.headers.get('warden-decision-id'));
  });
});
