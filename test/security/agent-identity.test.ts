// The subject and actor tokens Warden signs for RFC 8693 token exchange use the task-token key and
// are handed to an authorization server; one that leaks must not work as a task token at Warden,
// even when forged with Warden's own audience. It fails if assertions carried the `tid` and `nbf`
// a task token must have (checked by mutation: adding both lets the second one through). External tokens choosing their agent by a claim,
// and suspended agents, are covered in test/integration/agents.test.ts.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { TaskTokens } from '../../src/identity/task-tokens.js';
import { bearerLanes } from '../helpers/lanes.js';
import { closeAll, startProxyPair } from '../helpers/proxy-pair.js';
import { sendThrough } from '../helpers/send.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { WardenHandle } from '../helpers/warden.js';

process.env.SEC_AGENT_READ = 'sec-agent-read-secret';

let up: TestUpstream;
let w: WardenHandle;
let task: { task_id: string; token: string };

beforeAll(async () => {
  ({ upstream: up, w, task } = await startProxyPair({ name: 'github', upstream: { lanes: bearerLanes({ read: 'SEC_AGENT_READ' }) } }));
});
afterAll(() => closeAll(w, up));

const get = (token: string) => sendThrough(w, up, '/github/repos/acme/app', { headers: { authorization: `Bearer ${token}` } });

describe('token-exchange assertions', () => {
  it('a leaked token-exchange assertion (signed with the task-token key) is not a task token', async () => {
    expect((await get(task.token)).status).toBe(200); // control
    const { config } = loadConfigFile(w.configFile);
    const tokens = await TaskTokens.create({ ...config, state_dir: join(w.dir, 'state') });
    const claims = { warden_task: task.task_id };
    for (const aud of ['http://127.0.0.1:9/token', 'warden']) {
      const assertion = await tokens.signAssertion('agent-1', aud, claims, 60);
      const r = await get(assertion);
      expect(r.status).toBe(401);
      expect(r.forwarded).toBe(0);
    }
  });
});
