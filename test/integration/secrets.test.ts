// Secrets never leak: lanes carry distinctive values from ${env:...} and ${file:...}; a mix of
// requests runs through a real Warden (every proxy outcome, MCP, the admin API, metrics, a
// step-up webhook) and every response status line, header and body, every decision log line,
// every operational log line and every webhook delivery is searched for each secret, for the
// admin token and for the task tokens. A rotated ${file:...} secret reaches the upstream at once.

import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { createSidecar, type Sidecar } from '../../src/sidecar.js';
import { bearerLanes, headerLanes } from '../helpers/lanes.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ADMIN_TOKEN, registerAgents, tempDir, writeConfig } from '../helpers/warden.js';

const ENV_SECRETS = {
  TEST_SEC_GH_READ: 'S3CR3T-env-github-read-7f1c2a',
  TEST_SEC_GH_ESC: 'S3CR3T-env-github-escalation-9b33d0',
  TEST_SEC_TOOLS_READ: 'S3CR3T-env-tools-read-41e0aa',
  TEST_SEC_TOOLS_WRITE: 'S3CR3T-env-tools-write-c0ffee',
  TEST_SEC_WEBHOOK: 'S3CR3T-env-webhook-hmac-5eed5eed',
};
Object.assign(process.env, ENV_SECRETS);
const FILE_SECRET_V1 = 'S3CR3T-file-github-write-v1-aa11bb22';
const FILE_SECRET_V2 = 'S3CR3T-file-github-write-v2-rotated-cc33dd44ee';

let dir: string;
let secretFile: string;
let github: TestUpstream;
let tools: TestUpstream;
let hook: { url: string; bodies: string[]; headers: IncomingMessage['headers'][]; server: Server };
let sidecar: Sidecar;
let proxyUrl: string;
let adminUrl: string;
let logFile: string;
const opsLines: string[] = [];
/** Everything Warden answered: status lines, headers and bodies, labelled by request. */
const answers: { label: string; text: string }[] = [];
/** Task tokens handed out; they may appear only in the POST /v1/tasks answers. */
const taskTokens: string[] = [];
/** Decision ids of the proxied requests, to wait for their log lines. */
const decisionIds: string[] = [];

const fixed = (_req: IncomingMessage, res: ServerResponse): void => {
  // A well-behaved upstream: it does not echo the request back (the default test upstream does,
  // which would reflect the injected credential through no fault of Warden's).
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};

beforeAll(async () => {
  dir = tempDir('warden-secrets-');
  secretFile = join(dir, 'github-write.secret');
  writeFileSync(secretFile, `${FILE_SECRET_V1}\n`, { mode: 0o600 });
  github = await startUpstream();
  tools = await startUpstream();
  github.on('/', fixed);
  // The connection drops after the request (credential included) was sent: a 502 path.
  github.on('/reset', (req) => req.socket.destroy());
  tools.on('/', fixed);
  const bodies: string[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      headers.push(req.headers);
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  hook = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, headers, server };

  const files = writeConfig({
    dir,
    upstreams: {
      github: {
        prefix: '/github',
        url: github.url,
        lanes: bearerLanes({ read: 'TEST_SEC_GH_READ', write: { file: secretFile }, escalation: 'TEST_SEC_GH_ESC' }),
      },
      tools: {
        prefix: '/tools',
        url: tools.url,
        lanes: headerLanes('x-api-key', { read: 'TEST_SEC_TOOLS_READ', write: 'TEST_SEC_TOOLS_WRITE', escalation: 'TEST_SEC_TOOLS_WRITE' }),
      },
    },
    config: {
      step_up: { webhook: { url: hook.url, secret: '${env:TEST_SEC_WEBHOOK}', retries: 0 }, hold: '0s' },
      decision_log: { path: join(dir, 'decisions.log'), level: 'debug' },
    },
  });
  logFile = files.logFile;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      opsLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  sidecar = await createSidecar(loadConfigFile(files.configFile), { ops: pino({ level: 'debug' }, sink) });
  const addrs = await sidecar.listen();
  proxyUrl = `http://127.0.0.1:${addrs.proxy!.port}`;
  adminUrl = `http://127.0.0.1:${addrs.admin.port}`;
  await registerAgents(adminUrl);
});
afterAll(async () => {
  await sidecar?.close();
  await github?.close();
  await tools?.close();
  await new Promise<void>((r) => {
    hook?.server.closeAllConnections();
    hook?.server.close(() => r());
  });
});

async function record(label: string, res: Response): Promise<{ status: number; text: string; headers: Headers }> {
  const text = await res.text();
  const head = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  answers.push({ label, text: `HTTP/1.1 ${res.status} ${res.statusText}\n${head}\n\n${text}` });
  return { status: res.status, text, headers: res.headers };
}

async function proxy(label: string, path: string, init: RequestInit & { token?: string } = {}) {
  const { token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(proxyUrl + path, { ...rest, headers });
  const id = res.headers.get('warden-decision-id');
  if (id) decisionIds.push(id);
  return record(label, res);
}

/** Decision lines are written once an answer is out: wait until every request has its line. */
async function settled(): Promise<string[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const lines = decisionLines();
    const logged = new Set(lines.map((l) => (JSON.parse(l) as { decision_id?: string }).decision_id));
    if (decisionIds.every((id) => logged.has(id))) return lines;
    if (Date.now() > deadline) throw new Error('decision log lines missing');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function admin(label: string, method: string, path: string, body?: unknown, auth = ADMIN_TOKEN) {
  return record(
    label,
    await fetch(adminUrl + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

async function newTask(fields: Record<string, unknown> = {}): Promise<{ task_id: string; token: string }> {
  const r = await admin('POST /v1/tasks', 'POST', '/v1/tasks', { agent: 'agent-1', user: { id: 'alice', roles: ['developer'] }, stage: 'execute', risk: 'low', scopes: ['github:write', 'tools:write'], ttl: '10m', ...fields });
  expect(r.status).toBe(201);
  const t = JSON.parse(r.text) as { task_id: string; token: string };
  taskTokens.push(t.token);
  return t;
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function decisionLines(): string[] {
  sidecar.flushLogs();
  return readLines(logFile);
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Every place a secret could surface, with what must not be found in it. */
async function leaks(): Promise<string[]> {
  const secrets = [...Object.values(ENV_SECRETS), FILE_SECRET_V1, FILE_SECRET_V2, ADMIN_TOKEN];
  const found: string[] = [];
  const search = (where: string, text: string, needles: string[]) => {
    for (const n of needles) if (text.includes(n)) found.push(`${where} contains ${n.slice(0, 24)}...`);
  };
  for (const a of answers) search(`answer ${a.label}`, a.text, a.label === 'POST /v1/tasks' ? secrets : [...secrets, ...taskTokens]);
  for (const [i, l] of (await settled()).entries()) search(`decision log line ${i}`, l, [...secrets, ...taskTokens]);
  for (const [i, l] of opsLines.entries()) search(`ops log line ${i}`, l, [...secrets, ...taskTokens]);
  for (const [i, b] of hook.bodies.entries()) search(`webhook body ${i}`, b, [...secrets, ...taskTokens]);
  for (const [i, h] of hook.headers.entries()) search(`webhook headers ${i}`, JSON.stringify(h), [...secrets, ...taskTokens]);
  return found;
}

describe('secrets', () => {
  it('never appear in a response, a header, a log line, a metric or a webhook', async () => {
    const exec = await newTask();
    const plan = await newTask({ stage: 'plan' });
    const maint = await newTask({ user: { id: 'bob', roles: ['maintainer'] } });
    const revoked = await newTask();

    // Allowed read and write: the upstream gets the lane's secret, the agent's token is stripped.
    expect((await proxy('read', '/github/repos/acme/app?x=1', { token: exec.token })).status).toBe(200);
    expect(github.seen.at(-1)!.headers.authorization).toBe(`Bearer ${ENV_SECRETS.TEST_SEC_GH_READ}`);
    expect((await proxy('write', '/github/repos/acme/app/issues', { token: exec.token, ...json({ title: 'bug', password: 'hunter2' }) })).status).toBe(200);
    expect(github.seen.at(-1)!.headers.authorization).toBe(`Bearer ${FILE_SECRET_V1}`);
    // The agent's own credential in the lane header is never forwarded.
    expect((await proxy('agent sends x-api-key', '/tools/mcp', { ...json({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${exec.token}`, 'x-api-key': 'agent-own-key' } })).status).toBe(200);
    expect(tools.seen.at(-1)!.headers['x-api-key']).toBe(ENV_SECRETS.TEST_SEC_TOOLS_READ);
    // Denied (403), step-up (401 + webhook), MCP allow and MCP deny (JSON-RPC error).
    expect((await proxy('deny', '/github/repos/acme/app/issues', { token: plan.token, ...json({ title: 'x' }) })).status).toBe(403);
    const stepUp = await proxy('step-up', '/github/repos/acme/app', { token: maint.token, method: 'DELETE' });
    expect(stepUp.status).toBe(401);
    const approvalId = (JSON.parse(stepUp.text) as { approval_id: string }).approval_id;
    expect((await proxy('mcp allow', '/tools/mcp', { token: exec.token, ...json({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_issue', arguments: { title: 't' } } }) })).status).toBe(200);
    expect(tools.seen.at(-1)!.headers['x-api-key']).toBe(ENV_SECRETS.TEST_SEC_TOOLS_WRITE);
    const mcpDeny = await proxy('mcp deny', '/tools/mcp', { token: plan.token, ...json({ jsonrpc: '2.0', id: 'c-3', method: 'tools/call', params: { name: 'create_issue', arguments: {} } }) });
    expect(JSON.parse(mcpDeny.text).error.data.error).toBe('POLICY_DENIED');
    const mcpStepUp = await proxy('mcp step-up', '/tools/mcp', { token: maint.token, ...json({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'delete_repo', arguments: { repo: 'a' } } }) });
    expect(JSON.parse(mcpStepUp.text).error.data.error).toBe('approval_required');
    // 401s: no token, garbage, a token carrying a secret-looking value, a revoked task.
    expect((await proxy('no token', '/github/repos/acme/app')).status).toBe(401);
    expect((await proxy('bad token', '/github/repos/acme/app', { token: 'abc.def.ghi' })).status).toBe(401);
    expect((await proxy('basic auth', '/github/repos/acme/app', { headers: { authorization: `Basic ${Buffer.from(`u:${exec.token}`).toString('base64')}` } })).status).toBe(401);
    expect((await admin('DELETE task', 'DELETE', `/v1/tasks/${revoked.task_id}`)).status).toBe(200);
    expect((await proxy('revoked', '/github/repos/acme/app', { token: revoked.token })).status).toBe(401);
    // 404, 413, 400, and 502 (the upstream drops the connection).
    expect((await proxy('404', '/nowhere/at/all', { token: exec.token })).status).toBe(404);
    expect((await proxy('413', '/github/repos/acme/app/issues', { token: exec.token, ...json({ x: 'a'.repeat(1_100_000) }) })).status).toBe(413);
    expect((await proxy('400', '/github/repos/acme/app/issues', { token: exec.token, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x": ' })).status).toBe(400);
    expect((await proxy('502', '/github/reset', { token: exec.token })).status).toBe(502);

    // The admin API: task views, a patch, approvals, a check, metrics, health, a wrong token.
    const view = await admin('GET task', 'GET', `/v1/tasks/${exec.task_id}`);
    expect(view.status).toBe(200);
    expect((await admin('PATCH task', 'PATCH', `/v1/tasks/${plan.task_id}`, { stage: 'execute' })).status).toBe(200);
    const pending = await admin('GET approvals', 'GET', '/v1/approvals?status=pending');
    expect(pending.status).toBe(200);
    expect((JSON.parse(pending.text) as { approvals: unknown[] }).approvals.length).toBe(2);
    expect((await admin('GET approval', 'GET', `/v1/approvals/${approvalId}`)).status).toBe(200);
    expect((await admin('approve', 'POST', `/v1/approvals/${approvalId}/approve`, { approver: 'security-oncall', reason: 'ok' })).status).toBe(200);
    expect((await admin('check', 'POST', '/v1/check', { request: { method: 'GET', upstream: 'github', path: '/repos/x', headers: {} }, task: { id: 't', stage: 'execute', risk: 'low', user: { id: 'u', roles: [] }, scopes: [] } })).status).toBe(200);
    expect((await admin('wrong admin token', 'GET', `/v1/tasks/${exec.task_id}`, undefined, 'not-the-admin-token-xxxxxxxx')).status).toBe(401);
    const metrics = await record('metrics', await fetch(`${adminUrl}/metrics`));
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('warden');
    await record('health', await fetch(`${adminUrl}/health`));
    await record('ready', await fetch(`${adminUrl}/ready`));
    // The approved retry of the step-up call goes out on the escalation lane.
    expect((await proxy('approved retry', '/github/repos/acme/app', { token: maint.token, method: 'DELETE' })).status).toBe(200);
    expect(github.seen.at(-1)!.headers.authorization).toBe(`Bearer ${ENV_SECRETS.TEST_SEC_GH_ESC}`);
    expect(hook.bodies.length).toBeGreaterThan(0);

    // The decision log names the lane used, never its value.
    const decisions = (await settled()).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === 'decision');
    expect(decisions.filter((d) => d.outcome === 'allow').map((d) => d.lane)).toEqual(expect.arrayContaining(['read', 'write', 'escalation']));
    expect(decisions.length).toBeGreaterThanOrEqual(18);

    // Controls: the search looks at real material (the token answers do hold the tokens).
    expect(answers.length).toBeGreaterThan(25);
    expect(opsLines.length).toBeGreaterThan(0);
    for (const a of answers.filter((x) => x.label === 'POST /v1/tasks')) expect(taskTokens.some((t) => a.text.includes(t))).toBe(true);
    expect(await leaks()).toEqual([]);
  });

  it('a rotated ${file:...} secret reaches the upstream on the next request, and leaks nowhere either', async () => {
    const t = await newTask();
    const write = () => proxy('write after rotation', '/github/repos/acme/app/issues', { token: t.token, ...json({ title: 'y' }) });
    expect((await write()).status).toBe(200);
    expect(github.seen.at(-1)!.headers.authorization).toBe(`Bearer ${FILE_SECRET_V1}`);
    writeFileSync(secretFile, `${FILE_SECRET_V2}\n`);
    expect((await write()).status).toBe(200);
    expect(github.seen.at(-1)!.headers.authorization).toBe(`Bearer ${FILE_SECRET_V2}`);
    // A read still uses the env lane.
    expect((await proxy('read after rotation', '/github/repos/a/b', { token: t.token })).status).toBe(200);
    expect(github.seen.at(-1)!.headers.authorization).toBe(`Bearer ${ENV_SECRETS.TEST_SEC_GH_READ}`);
    expect(await leaks()).toEqual([]);
  });
});
