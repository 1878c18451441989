// An OPA bundle, from a .tar.gz or a directory: the wasm module, data.json and the manifest.
// Reading the files and parsing them are separate steps so that a signature is checked over
// exactly the files that are then loaded.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { WardenError, describeThrown } from '../errors.js';
import { MAX_BUNDLE_BYTES, readTarGz } from './tar.js';

export interface Bundle {
  readonly wasm: Buffer;
  readonly data: Record<string, unknown>;
  readonly revision: string;
  /** Entrypoints the manifest declares for the module (empty when it has no manifest). */
  readonly manifestEntrypoints: readonly string[];
}

function invalid(source: string, why: string, cause?: unknown): WardenError {
  return new WardenError('POLICY_BUNDLE_INVALID', `${source}: ${why}`, { cause });
}

function parseJson(source: string, name: string, buf: Buffer | undefined, fallback: unknown): unknown {
  if (!buf) return fallback;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw invalid(source, `${name} is not valid JSON`, err);
  }
}

/** Every file of a bundle by its name inside the bundle (`policy.wasm`, `src/a.rego`). */
export type BundleFiles = ReadonlyMap<string, Buffer>;

/** The files of a `.tar.gz` or of a directory (all of it, as OPA reads a directory bundle). */
export async function readBundleFiles(source: string): Promise<BundleFiles> {
  try {
    const st = statSync(source);
    if (!st.isDirectory()) {
      if (st.size > MAX_BUNDLE_BYTES) throw new Error(`the archive is larger than ${MAX_BUNDLE_BYTES} bytes`);
      return await readTarGz(readFileSync(source));
    }
    const files = new Map<string, Buffer>();
    for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = join(entry.parentPath, entry.name);
      files.set(relative(source, full).split(sep).join('/'), readFileSync(full));
    }
    return files;
  } catch (err) {
    throw invalid(source, `cannot read: ${describeThrown(err)}`, err);
  }
}

/** Files of a downloaded `.tar.gz`. */
export async function unpackBundle(source: string, gz: Buffer): Promise<BundleFiles> {
  try {
    return await readTarGz(gz);
  } catch (err) {
    throw invalid(source, `not a bundle archive: ${describeThrown(err)}`, err);
  }
}

export async function readBundle(source: string): Promise<Bundle> {
  return parseBundle(source, await readBundleFiles(source));
}

export function parseBundle(source: string, files: BundleFiles): Bundle {
  const manifest = parseJson(source, '.manifest', files.get('.manifest'), {}) as { revision?: unknown; wasm?: { entrypoint?: unknown; module?: unknown }[] };
  const modules = Array.isArray(manifest.wasm) ? manifest.wasm : [];
  const modulePath = typeof modules[0]?.module === 'string' ? String(modules[0].module).replace(/^\/+/, '') : 'policy.wasm';
  const wasm = files.get(modulePath);
  if (!wasm) throw invalid(source, `has no ${modulePath}; build it with \`opa build -t wasm\``);
  const data = parseJson(source, 'data.json', files.get('data.json'), {});
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid(source, 'data.json must hold an object');
  return {
    wasm,
    data: data as Record<string, unknown>,
    revision: typeof manifest.revision === 'string' && manifest.revision !== '' ? manifest.revision : 'unversioned',
    manifestEntrypoints: modules.map((m) => String(m.entrypoint ?? '')),
  };
}
