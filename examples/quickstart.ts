// `npm start`: the demo upstreams on 127.0.0.1:9001 (GitHub-like) and :9002 (MCP), then
// `warden run --config examples/warden.yaml` as a child process, then one demo task whose token
// is printed with curl commands to try. Ctrl-C stops everything.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { githubLike, listen, mcpLike } from './demo-upstream.js';

const root = resolve(import.meta.dirname, '..');
const adminToken = readFileSync(resolve(root, 'examples/secrets/admin-token'), 'utf8').trim();

await listen(githubLike(), 9001);
await listen(mcpLike(), 9002);
const warden = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'src/main.ts'), 'run', '--config', resolve(root, 'examples/warden.yaml')], { stdio: 'inherit' });
const stop = (): void => {
  warden.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
warden.once('exit', (code) => process.exit(code ?? 0));

async function createTask(): Promise<{ task_id: string; token: string }> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch('http://127.0.0.1:8181/v1/tasks', {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent: 'demo-agent', user: { id: 'alice', roles: ['maintainer'] }, stage: 'execute', risk: 'low', scopes: ['github:write', 'tools:write'], ttl: '1h' }),
      });
      if (res.status === 201) return (await res.json()) as { task_id: string; token: string };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('warden did not come up on 127.0.0.1:8181');
}

const task = await createTask();
process.stderr.write(`
Warden is up: proxy http://127.0.0.1:8080, admin http://127.0.0.1:8181 (token in examples/secrets/admin-token)
Demo task ${task.task_id} (stage execute, user alice, role maintainer). Try:

  T=${task.token}
  curl -s -H "authorization: Bearer $T" http://127.0.0.1:8080/github/repos/acme/app/issues          # allow, lane read
  curl -s -H "authorization: Bearer $T" -H 'content-type: application/json' -d '{"title":"bug"}' http://127.0.0.1:8080/github/repos/acme/app/issues   # allow, lane write
  curl -s -i -H "authorization: Bearer $T" -X DELETE http://127.0.0.1:8080/github/repos/acme/app    # 401 approval_required (step-up)
  curl -s -H "authorization: Bearer $T" -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_branch","arguments":{"branch":"main"}}}' http://127.0.0.1:8080/tools/mcp
  curl -s -H "authorization: Bearer ${adminToken}" 'http://127.0.0.1:8181/v1/approvals?status=pending'
  curl -s -X POST -H "authorization: Bearer ${adminToken}" -H 'content-type: application/json' -d '{"approver":"you","reason":"ok"}' http://127.0.0.1:8181/v1/approvals/<approval_id>/approve
  # or decide in the browser: http://127.0.0.1:8181/console/ (sign in with the admin token)
  # then repeat the DELETE: it passes once, with the escalation lane

`);
