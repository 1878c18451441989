// `npm start`: the demo upstreams on 127.0.0.1:9001 (GitHub-like) and :9002 (MCP), a local OAuth
// authorization server on :9003 (oidc-provider, for the token-exchange `escalation` lane), then
// `warden run --config examples/warden.yaml` as a child process; it registers the demo agent and
// creates one demo task whose token is printed with curl commands to try. Ctrl-C stops everything.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { HEAP_FLAGS } from '../src/heap-flags.js';
import { startAuthServer } from './auth-server.js';
import { githubLike, listen, mcpLike } from './demo-upstream.js';

const root = resolve(import.meta.dirname, '..');
const adminToken = readFileSync(resolve(root, 'examples/secrets/admin-token'), 'utf8').trim();

const oauthSecret = readFileSync(resolve(root, 'examples/secrets/oauth-client-secret'), 'utf8').trim();
// The GitHub-like upstream introspects the tokens it gets at the same server, to show whose they are.
const introspector = { id: 'demo-github', secret: 'demo-github-introspection-secret' };
const auth = await startAuthServer({ port: 9003, client: { id: 'warden', secret: oauthSecret }, introspector, resources: { 'http://127.0.0.1:9001': ['repo:admin'] } });
await listen(githubLike({ introspect: (token) => auth.introspect(token) }), 9001);
await listen(mcpLike(), 9002);
const warden = spawn(process.execPath, [...HEAP_FLAGS, '--import', 'tsx', resolve(root, 'src/main.ts'), 'run', '--config', resolve(root, 'examples/warden.yaml')], { stdio: 'inherit' });
const stop = (): void => {
  warden.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
warden.once('exit', (code) => process.exit(code ?? 0));

async function admin(path: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:8181${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function waitForWarden(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch('http://127.0.0.1:8181/health')).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('warden did not come up on 127.0.0.1:8181');
}

await waitForWarden();
// The authorization server trusts the subject and actor tokens Warden signs for token exchange.
auth.trust('warden', 'http://127.0.0.1:8181/.well-known/jwks.json');
// identity.registered_agents_only (the default): the demo agent is registered with its owner and
// scope ceiling before it gets a task. A second `npm start` on the same state finds it registered.
const registered = await admin('/v1/agents', { id: 'demo-agent', owner: 'platform-team', description: 'quick start demo agent', scopes: ['github:*', 'tools:*'], max_risk: 'medium' });
if (registered.status !== 201 && registered.status !== 409) throw new Error(`agent registration failed: ${registered.status} ${await registered.text()}`);
const created = await admin('/v1/tasks', { agent: 'demo-agent', user: { id: 'alice', roles: ['maintainer'] }, stage: 'execute', risk: 'low', scopes: ['github:write', 'tools:write'], ttl: '1h' });
if (created.status !== 201) throw new Error(`task creation failed: ${created.status} ${await created.text()}`);
const task = (await created.json()) as { task_id: string; token: string };
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
  # then repeat the DELETE: it passes once, on the escalation lane, with a token minted for this task
  # by token exchange (the upstream shows its introspection: sub alice, act demo-agent, scope repo:admin)
  curl -s -H "authorization: Bearer ${adminToken}" http://127.0.0.1:8181/v1/agents                 # the agent inventory (?format=csv)

`);
