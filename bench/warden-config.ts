// Workspace of one benchmark run: a copy of rego/ with the per-task and per-stage call caps out
// of the way (same policy otherwise), the Wasm bundle built from it, and Warden's YAML config.

import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildBundle, makeTempDir } from '../scripts/opa.mjs';
import { ROOT } from './procs.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export interface Workspace {
  readonly dir: string;
  /** Rego sources (no tests) with raised caps: what OPA serves. */
  readonly regoDir: string;
  /** The bundle Warden loads (and that the reload test rewrites). */
  readonly bundle: string;
  /** Two prebuilt bundles with different revisions, swapped in by the reload test. */
  readonly variants: readonly string[];
  readonly decisionLog: string;
  readonly stateDir: string;
  /** Environment that carries Warden's secrets. */
  readonly env: NodeJS.ProcessEnv;
  /** `name`: a second Warden beside the first, with its own state directory and decision log. */
  configFor(upstreamOrigin: string, name?: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createWorkspace(): Promise<Workspace> {
  const dir = await makeTempDir('warden-bench-');
  const regoDir = path.join(dir, 'rego');
  await mkdir(regoDir);
  const src = path.join(ROOT, 'rego');
  for (const f of await readdir(src)) {
    if (f.endsWith('_test.rego') || !(f.endsWith('.rego') || f.endsWith('.json'))) continue;
    await copyFile(path.join(src, f), path.join(regoDir, f));
  }
  const data = JSON.parse(await readFile(path.join(regoDir, 'data.json'), 'utf8')) as { warden: { limits: Record<string, number> } };
  data.warden.limits.max_calls_per_task = 1e9;
  data.warden.limits.max_calls_per_stage = 1e9;
  await writeFile(path.join(regoDir, 'data.json'), `${JSON.stringify(data, null, 2)}\n`);

  const bundle = path.join(dir, 'warden.tar.gz');
  await buildBundle({ sources: regoDir, out: bundle });
  const variants: string[] = [];
  for (const tag of ['a', 'b']) {
    const out = path.join(dir, `variant-${tag}.tar.gz`);
    await buildBundle({ sources: regoDir, out, revision: `bench-reload-${tag}` });
    variants.push(out);
  }
  const decisionLog = path.join(dir, 'decisions.log');
  const stateDir = path.join(dir, 'state');
  const env = { ...process.env, BENCH_ADMIN_TOKEN: ADMIN_TOKEN, BENCH_GH_READ: 'bench-read-credential', BENCH_GH_WRITE: 'bench-write-credential' };

  return {
    dir, regoDir, bundle, variants, decisionLog, stateDir, env,
    async configFor(upstreamOrigin, name) {
      const lanes = {
        read: { header: 'authorization', value: 'Bearer ${env:BENCH_GH_READ}' },
        write: { header: 'authorization', value: 'Bearer ${env:BENCH_GH_WRITE}' },
      };
      const config = {
        listen: '127.0.0.1:0',
        state_dir: name === undefined ? stateDir : path.join(dir, name),
        admin: { listen: '127.0.0.1:0', token: '${env:BENCH_ADMIN_TOKEN}' },
        policy: { bundle, entrypoint: 'warden/decision', mode: 'enforce', max_body_bytes: 1_048_576, watch: true, poll_interval: '200ms' },
        upstreams: {
          github: { prefix: '/github', url: upstreamOrigin, timeout: '30s', lanes },
          tools: { prefix: '/tools', url: upstreamOrigin, timeout: '30s', mcp: true, lanes },
        },
        identity: { task_tokens: { algorithm: 'EdDSA', default_ttl: '15m', max_ttl: '8h' } },
        decision_log: { path: name === undefined ? decisionLog : path.join(dir, `decisions-${name}.log`), mask: ['input.request.body.password'], level: 'info' },
      };
      const file = path.join(dir, name === undefined ? 'warden.yaml' : `warden-${name}.yaml`);
      await writeFile(file, stringify(config));
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
