// The command line in child processes: `warden eval`, `--help`, a refused configuration, and
// `warden run` shutting down on SIGTERM with every decision line flushed (pino's exit tests).

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerLanes } from '../helpers/lanes.js';
import { compilePolicy } from '../helpers/policy.js';
import { editJson, makeKey, repack, signedPolicy, SIMPLE_POLICY } from '../helpers/signed-bundle.js';
import { startUpstream } from '../helpers/upstream.js';
import { CLI_TIMEOUT, warden } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { registerAgents, spawnWarden, writeConfig, ADMIN_TOKEN } from '../helpers/warden.js';

const TASK = { id: 't1', stage: 'execute', risk: 'low', user: { id: 'alice', roles: ['maintainer'] }, scopes: ['github:write'], expires_at: '2030-01-01T00:00:00Z', usage: { calls: 0, stage_calls: 0 } };

describe('warden command line', () => {
  it('prints help for each command', async () => {
    expect((await warden(['--help'])).stdout).toMatch(/Commands:\n\s+run/);
    expect((await warden(['run', '--help'])).stdout).toMatch(/--admin-listen HOST:PORT/);
    expect((await warden(['eval', '--help'])).stdout).toMatch(/--input FILE/);
    const bad = await warden(['frobnicate']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
    expect((await warden(['control', '--help'])).stdout).toMatch(/--admin-listen HOST:PORT/);
    expect((await warden(['store', 'migrate', '--help'])).stdout).toMatch(/--from sqlite --to redis --config FILE/);
  }, CLI_TIMEOUT);

  it('evaluates one input with `warden eval` and exits by decision', async () => {
    const { dir, configFile } = writeConfig({});
    const input = (method: string) => {
      const f = join(dir, `${method}.json`);
      writeFileSync(f, JSON.stringify({ request: { method, upstream: 'github', path: '/repos/a/b/issues', query: {}, headers: {}, body: null }, task: TASK }));
      return f;
    };
    const allow = await warden(['eval', '--config', configFile, '--input', input('GET')]);
    expect(allow.code).toBe(0);
    expect(JSON.parse(allow.stdout).result).toMatchObject({ decision: 'allow', lane: 'read' });
    const del = await warden(['eval', '--config', configFile, '--input', input('DELETE')]);
    expect(del.code).toBe(3);
    expect(JSON.parse(del.stdout).result.decision).toBe('step_up');
  });

  it('verifies the bundle signature in `warden eval` when policy.verification is configured', async () => {
    const key = makeKey('ES256');
    const signed = await signedPolicy(key);
    const tampered = repack(signed, (dir) => editJson(dir, 'data.json', (d) => ({ ...d, reason: 'tampered' })));
    const unsigned = await compilePolicy(SIMPLE_POLICY, { data: { reason: 'unsigned' } });
    const verification = { key_id: 'k1', keys: { k1: { algorithm: 'ES256', key: `\${file:${key.verificationFile}}` } } };
    const evalWith = async (bundle: string) => {
      const { dir, configFile } = writeConfig({ bundle, config: { policy: { verification } } });
      const f = join(dir, 'input.json');
      writeFileSync(f, JSON.stringify({ request: { method: 'GET', upstream: 'github', path: '/', query: {}, headers: {}, body: null }, task: TASK }));
      return warden(['eval', '--config', configFile, '--input', f]);
    };
    const ok = await evalWith(signed);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).result).toMatchObject({ decision: 'allow', reason: 'signed' });
    const bad = await evalWith(tampered);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/POLICY_BUNDLE_UNVERIFIED: .*data\.json: digest mismatch/);
    const none = await evalWith(unsigned);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/POLICY_BUNDLE_UNVERIFIED: .*not signed \(no \.signatures\.json\)/);
  }, CLI_TIMEOUT);

  it('refuses a bad configuration naming the key', async () => {
    const { dir } = writeConfig({});
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, "admin: { token: '${env:WARDEN_TEST_ADMIN_TOKEN}' }\npolicy: { mode: audit }\n");
    const res = await warden(['run', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/CONFIG_INVALID: configuration is invalid: policy\.mode: expected one of enforce, dry-run/);
  });

  it('reloads the policy on SIGHUP, without waiting for a poll', async () => {
    const other = await compilePolicy('package warden\nimport rego.v1\ndecision := {"decision": "deny", "reason": "other"}\n');
    const { configFile, bundle } = writeConfig({ config: { policy: { watch: false } } });
    const { child, adminUrl } = await spawnWarden(configFile);
    try {
      const before = (await (await fetch(`${adminUrl}/ready`)).json()).revision;
      copyFileSync(other, bundle);
      child.kill('SIGHUP');
      let after = before;
      for (let i = 0; i < 100 && after === before; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = (await (await fetch(`${adminUrl}/ready`)).json()).revision;
      }
      expect(after).not.toBe(before);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('warns when a V8 option that only the node command line can set is missing, and still serves', async () => {
    const missing = await spawnWarden(writeConfig({}).configFile, 'sidecar', [], false);
    const given = await spawnWarden(writeConfig({}).configFile);
    try {
      const warning = (text: string): Record<string, unknown> | undefined =>
        text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => Array.isArray(l.missing));
      expect(warning(missing.stderr())).toMatchObject({ level: 40, missing: ['--no-memory-reducer', '--max-semi-space-size=8'] });
      expect((await fetch(`${missing.adminUrl}/ready`)).status).toBe(200);
      expect(warning(given.stderr())).toBeUndefined();
    } finally {
      missing.child.kill('SIGKILL');
      given.child.kill('SIGKILL');
    }
  });

  it('shuts down on SIGTERM: in-flight requests finish and every decision line is flushed', async () => {
    const upstream = await startUpstream();
    // The slow call is answered only once Warden is shutting down: in flight across the SIGTERM.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    upstream.on('/slow', (_req, res) => void released.then(() => res.end('done')));
    const { configFile, logFile } = writeConfig({ upstreams: { github: { prefix: '/github', url: upstream.url, lanes: bearerLanes({ read: 'WARDEN_TEST_ADMIN_TOKEN' }) } } });
    const { child, proxyUrl, adminUrl } = await spawnWarden(configFile);
    try {
      await registerAgents(adminUrl, [{ id: 'a', owner: 'ops', scopes: [] }]);
      const created = await fetch(`${adminUrl}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ agent: 'a', user: { id: 'u', roles: [] }, stage: 'plan', risk: 'low' }) });
      const { token } = await created.json();
      const quick = await Promise.all(Array.from({ length: 20 }, () => fetch(`${proxyUrl}/github/repos/a`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)));
      expect(quick.every((s) => s === 200)).toBe(true);
      const slow = fetch(`${proxyUrl}/github/slow`, { headers: { authorization: `Bearer ${token}` } });
      await until(() => upstream.seen.some((r) => r.url === '/slow'));
      child.kill('SIGTERM');
      await until(async () => (await fetch(`${adminUrl}/ready`)).status === 503);
      release();
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('done');
      const code = await new Promise((r) => child.once('exit', r));
      expect(code).toBe(0);
      const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(lines.filter((l) => l.type === 'decision')).toHaveLength(21);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await upstream.close();
    }
  });
});

