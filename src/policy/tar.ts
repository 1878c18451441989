// Reads the gzip'd tar archives that `opa build` writes, through tar-stream (ustar, PAX and GNU
// long names). The archive is untrusted input, so: the uncompressed size is bounded while
// inflating (a gzip bomb stops at the bound), only regular files are kept (links and devices are
// skipped, never followed), a name that climbs out of the bundle (`../x`) or repeats refuses the
// whole archive, and a truncated archive is an error.

import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { extract } from 'tar-stream';

/** Largest uncompressed bundle: far above any policy, far below the memory of the process. */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

const inflate = promisify(gunzip);

/** `/policy.wasm` or `./policy.wasm` → `policy.wasm`; throws on a name that leaves the bundle. */
export function entryName(raw: string): string {
  const name = raw.replace(/^(\.?\/)+/, '');
  if (name === '' || name.split('/').some((seg) => seg === '..')) throw new Error(`tar entry ${JSON.stringify(raw)} leaves the bundle`);
  return name;
}

/** Regular files of a .tar.gz by normalized name. Throws on a malformed, oversized or unsafe archive. */
export async function readTarGz(gz: Buffer, maxBytes = MAX_BUNDLE_BYTES): Promise<Map<string, Buffer>> {
  let tar: Buffer;
  try {
    tar = await inflate(gz, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`archive exceeds ${maxBytes} bytes uncompressed`, { cause: err });
    throw err;
  }
  const files = new Map<string, Buffer>();
  const reader = extract();
  reader.end(tar);
  for await (const entry of reader) {
    const { type, name: raw } = entry.header;
    if (type !== 'file' && type !== 'contiguous-file') {
      entry.resume();
      continue;
    }
    const name = entryName(raw);
    if (files.has(name)) throw new Error(`tar entry ${name} appears twice`);
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk);
    files.set(name, Buffer.concat(chunks));
  }
  return files;
}
