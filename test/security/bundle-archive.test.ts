// A hostile policy bundle archive (a compromised build or a writable bundle path) must not make
// the loader read outside the bundle, follow links, pick between two copies of a file or exhaust
// memory: each archive here is refused with POLICY_BUNDLE_INVALID and the policy that was live
// keeps serving. The real example bundle is re-packed with one hostile entry added.
//
// Each test fails when its defence goes (src/policy/tar.ts, src/policy/bundle.ts): without the
// `..` check the escaping entry is read as a file and the bundle loads; without skipping links
// the symlinked policy.wasm is taken (an empty file, a different message); without the duplicate
// check the second policy.wasm wins and loads; without the size check the sparse 256 MiB file is
// read and inflated.

import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/policy/engine.js';
import { MAX_BUNDLE_BYTES, readTarGz } from '../../src/policy/tar.js';
import { EXAMPLE_BUNDLE } from '../helpers/policy.js';
import { packTarGz, type TarEntry } from '../helpers/tar.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-sec-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let example: Map<string, Buffer>;
const engine = new PolicyEngine({ entrypoint: 'warden/decision', maxMemoryPages: 512 });
let good: string;

beforeAll(async () => {
  example = await readTarGz(readFileSync(EXAMPLE_BUNDLE));
  good = (await engine.load(EXAMPLE_BUNDLE)).revision;
});

/** The example bundle's files as `opa build` names them (`/policy.wasm`), less `omit`, then `extra`. */
async function repacked(name: string, extra: TarEntry[], omit?: string): Promise<string> {
  const files = [...example].filter(([file]) => file !== omit).map(([file, body]) => ({ name: `/${file}`, body }));
  const file = join(dir, `${name}.tar.gz`);
  writeFileSync(file, await packTarGz([...files, ...extra]));
  return file;
}

async function refusal(file: string): Promise<{ code: string; message: string }> {
  try {
    await engine.load(file);
  } catch (err) {
    expect(engine.revision).toBe(good);
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the bundle to be refused');
}

describe('policy bundle archives', () => {
  it('loads the re-packed example bundle (the control)', async () => {
    const file = await repacked('control', []);
    expect((await engine.load(file)).revision).toBe(good);
  });

  it.each([['../escape.rego'], ['/../../etc/cron.d/x'], ['policies/../../escape']])('refuses an entry named %s', async (name) => {
    const r = await refusal(await repacked('traversal', [{ name, body: 'package x' }]));
    expect(r.code).toBe('POLICY_BUNDLE_INVALID');
    expect(r.message).toContain('leaves the bundle');
  });

  it('does not follow a symlinked policy.wasm', async () => {
    const wasmOnDisk = join(dir, 'real.wasm');
    writeFileSync(wasmOnDisk, example.get('policy.wasm')!);
    const file = await repacked('symlink', [{ name: '/policy.wasm', type: 'symlink', linkname: wasmOnDisk }], 'policy.wasm');
    const r = await refusal(file);
    expect(r.code).toBe('POLICY_BUNDLE_INVALID');
    expect(r.message).toContain('has no policy.wasm');
  });

  it('refuses a second policy.wasm after the real one', async () => {
    const r = await refusal(await repacked('duplicate', [{ name: 'policy.wasm', body: example.get('policy.wasm')! }]));
    expect(r.code).toBe('POLICY_BUNDLE_INVALID');
    expect(r.message).toContain('tar entry policy.wasm appears twice');
  });

  it('refuses an archive file above the size bound without reading it', async () => {
    const file = join(dir, 'huge.tar.gz');
    writeFileSync(file, '');
    truncateSync(file, MAX_BUNDLE_BYTES + 1); // sparse: no disk or memory used
    const r = await refusal(file);
    expect(r.code).toBe('POLICY_BUNDLE_INVALID');
    expect(r.message).toContain(`the archive is larger than ${MAX_BUNDLE_BYTES} bytes`);
  });
});
