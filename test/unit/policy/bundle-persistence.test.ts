// The bundle file watcher and the persisted copy of a downloaded bundle, with real bundles built
// by the pinned `opa` and a real engine: a reload on every replacement (rename included) and only
// then, a refused bundle keeping the last good policy, and the store's copy surviving whatever the
// crash left behind.

import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WardenError } from '../../../src/errors.js';
import { BundleStore } from '../../../src/policy/bundle-store.js';
import { PolicyEngine, type PolicySnapshot } from '../../../src/policy/engine.js';
import { BundleWatcher } from '../../../src/policy/watcher.js';
import { compilePolicy } from '../../helpers/policy.js';
import { until } from '../../helpers/wait.js';

const REGO = 'package warden\nimport rego.v1\ndecision := {"decision": "allow", "headers": {}}\n';

let revA: string;
let revB: string;
beforeAll(async () => {
  [revA, revB] = await Promise.all([compilePolicy(REGO, { revision: 'rev-a' }), compilePolicy(REGO, { revision: 'rev-b' })]);
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-unit-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('BundleWatcher', () => {
  function watch(file: string): { watcher: BundleWatcher; engine: PolicyEngine; loaded: string[]; failed: WardenError[] } {
    const engine = new PolicyEngine({ entrypoint: 'warden/decision', maxMemoryPages: 64 });
    const loaded: string[] = [];
    const failed: WardenError[] = [];
    const watcher = new BundleWatcher(engine, file, { loaded: (s: PolicySnapshot) => void loaded.push(s.revision), failed: (e) => void failed.push(e) });
    cleanups.push(() => watcher.stop());
    return { watcher, engine, loaded, failed };
  }

  it('loads on reload(), and on a tick only when the file was replaced (a rename too)', async () => {
    const dir = tempDir();
    const file = join(dir, 'bundle.tar.gz');
    copyFileSync(revA, file);
    const w = watch(file);
    expect(await w.watcher.reload()).toBe(true);
    expect([w.loaded, w.engine.revision]).toEqual([['rev-a'], 'rev-a']);
    w.watcher.start(10);
    // Replaced by rename, as deployments do: a new inode.
    copyFileSync(revB, join(dir, 'next.tar.gz'));
    renameSync(join(dir, 'next.tar.gz'), file);
    await until(() => w.loaded.length === 2);
    expect(w.engine.revision).toBe('rev-b');
    // Ticks without a change load nothing: the next change makes exactly the third load.
    copyFileSync(revA, join(dir, 'next.tar.gz'));
    renameSync(join(dir, 'next.tar.gz'), file);
    await until(() => w.loaded.length === 3);
    expect(w.loaded).toEqual(['rev-a', 'rev-b', 'rev-a']);
    expect(w.failed).toEqual([]);
  });

  it('reports a missing or broken bundle as POLICY_BUNDLE_INVALID and keeps the last good policy', async () => {
    const dir = tempDir();
    const file = join(dir, 'bundle.tar.gz');
    const w = watch(file);
    expect(await w.watcher.reload()).toBe(false);
    expect(w.failed.map((e) => e.code)).toEqual(['POLICY_BUNDLE_INVALID']);
    expect(w.engine.revision).toBeUndefined();
    copyFileSync(revA, file);
    w.watcher.start(10);
    await until(() => w.loaded.length === 1);
    writeFileSync(file, 'not a tarball');
    await until(() => w.failed.length === 2);
    expect(w.failed[1]!.code).toBe('POLICY_BUNDLE_INVALID');
    expect(w.engine.revision).toBe('rev-a');
    expect(w.loaded).toEqual(['rev-a']);
  });

  it('stops polling on stop()', async () => {
    const dir = tempDir();
    const file = join(dir, 'bundle.tar.gz');
    copyFileSync(revA, file);
    const w = watch(file);
    await w.watcher.reload();
    w.watcher.start(10);
    w.watcher.stop();
    copyFileSync(revB, file);
    // A reload() now is the only way the change is taken.
    expect(w.engine.revision).toBe('rev-a');
    expect(await w.watcher.reload()).toBe(true);
    expect(w.loaded).toEqual(['rev-a', 'rev-b']);
  });
});

describe('BundleStore', () => {
  it('has nothing before the first write, then the archive and its ETag', () => {
    const store = new BundleStore(join(tempDir(), 'bundles', 'warden'));
    expect(store.read()).toBeUndefined();
    const archive = readFileSync(revA);
    store.write(archive, '"etag-1"', 'rev-a');
    expect(store.read()).toEqual({ archive, etag: '"etag-1"' });
    store.write(readFileSync(revB), undefined, 'rev-b');
    expect(store.read()).toEqual({ archive: readFileSync(revB), etag: undefined });
  });

  it('keeps the archive when its metadata is unreadable (the ETag is then unknown: one full download)', () => {
    const dir = join(tempDir(), 'warden');
    const store = new BundleStore(dir);
    store.write(readFileSync(revA), '"etag-1"', 'rev-a');
    writeFileSync(join(dir, 'bundle.json'), '{"etag":');
    expect(store.read()).toEqual({ archive: readFileSync(revA), etag: undefined });
    writeFileSync(join(dir, 'bundle.json'), '{"etag":42}');
    expect(store.read()!.etag).toBeUndefined();
  });

  it('writes through temp files renamed into place, readable only by Warden', () => {
    const dir = join(tempDir(), 'warden');
    const store = new BundleStore(dir);
    // A crash mid-write leaves a temp file behind: the copy in place is still the previous one.
    store.write(readFileSync(revA), '"etag-1"', 'rev-a');
    writeFileSync(`${store.archivePath}.tmp`, 'half of a bundle');
    expect(store.read()!.archive).toEqual(readFileSync(revA));
    store.write(readFileSync(revB), '"etag-2"', 'rev-b');
    expect(store.read()).toEqual({ archive: readFileSync(revB), etag: '"etag-2"' });
    const meta = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8'));
    expect(meta).toEqual({ etag: '"etag-2"', revision: 'rev-b', persisted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect([statSync(dir).mode & 0o777, statSync(store.archivePath).mode & 0o777, statSync(join(dir, 'bundle.json')).mode & 0o777]).toEqual([0o700, 0o600, 0o600]);
  });
});
