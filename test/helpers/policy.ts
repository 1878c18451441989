// Test helpers for policies: compile Rego sources to a Wasm bundle with the pinned opa.
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, makeTempDir } from '../../scripts/opa.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shipped example policy (rego/), built by test/global-setup.ts. */
export const EXAMPLE_BUNDLE: string = path.join(ROOT, 'test', '.artifacts', 'warden.tar.gz');

export interface CompilePolicyOptions {
  /** Wasm entrypoint; defaults to 'warden/decision'. */
  entrypoint?: string;
  /** Base data, written as data.json at the root of the bundle (so `data` = this object). */
  data?: object;
  /** Bundle revision (default: a digest of the sources). */
  revision?: string;
  /** Sign with the pinned `opa build --signing-key` (see scripts/opa.mjs buildBundle). */
  signing?: { key: string; algorithm?: string; keyId?: string; claims?: Record<string, unknown> };
}

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes Rego sources into a fresh temp dir and builds a Wasm bundle from them.
 * `rego` is one module's text (written as policy.rego) or a map of relative file name → text.
 * Returns the absolute path of the built .tar.gz (removed when the process exits).
 */
export async function compilePolicy(
  rego: string | Record<string, string>,
  opts: CompilePolicyOptions = {},
): Promise<string> {
  const dir = await makeTempDir('warden-test-policy-');
  tempDirs.push(dir);
  const src = path.join(dir, 'src');
  await mkdir(src, { recursive: true });
  const files = typeof rego === 'string' ? { 'policy.rego': rego } : rego;
  for (const [name, text] of Object.entries(files)) {
    const file = path.resolve(src, name);
    if (!file.startsWith(src + path.sep)) throw new Error(`compilePolicy: bad file name ${name}`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
  if (opts.data !== undefined) await writeFile(path.join(src, 'data.json'), JSON.stringify(opts.data));
  const { out } = await buildBundle({
    sources: [src],
    out: path.join(dir, 'bundle.tar.gz'),
    ...(opts.entrypoint !== undefined ? { entrypoint: opts.entrypoint } : {}),
    ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
    ...(opts.signing !== undefined ? { signing: opts.signing } : {}),
  });
  return out;
}
