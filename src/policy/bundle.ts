// An OPA bundle, from a .tar.gz or a directory: the wasm module, data.json and the manifest.

import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
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

export async function readBundle(source: string): Promise<Bundle> {
  let files: Map<string, Buffer>;
  try {
    const st = statSync(source);
    if (st.isDirectory()) {
      files = new Map();
      for (const name of ['policy.wasm', 'data.json', '.manifest']) {
        const p = join(source, name);
        if (existsSync(p)) files.set(name, readFileSync(p));
      }
    } else {
      if (st.size > MAX_BUNDLE_BYTES) throw new Error(`the archive is larger than ${MAX_BUNDLE_BYTES} bytes`);
      files = await readTarGz(readFileSync(source));
    }
  } catch (err) {
    throw invalid(source, `cannot read: ${describeThrown(err)}`, err);
  }
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
