// A minimal reader for the gzip'd ustar archives that `opa build` writes. Only regular files
// are returned; PAX extended headers may carry a long path, which is honoured.

import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

function field(buf: Buffer, start: number, len: number): string {
  const raw = buf.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number): number {
  const text = field(buf, start, len).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`bad tar number field "${text}"`);
  return text === '' ? 0 : parseInt(text, 8);
}

function paxPath(data: Buffer): string | undefined {
  for (const line of data.toString('utf8').split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** Entries of a .tar.gz by normalized name (`/policy.wasm` → `policy.wasm`). */
export function readTarGz(gz: Buffer, maxBytes = 256 * 1024 * 1024): Map<string, Buffer> {
  const tar = gunzipSync(gz, { maxOutputLength: maxBytes });
  const files = new Map<string, Buffer>();
  let offset = 0;
  let nextPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 48);
    const prefix = field(header, 345, 155);
    const name = nextPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length) throw new Error(`tar entry ${name} is truncated`);
    const data = tar.subarray(dataStart, dataStart + size);
    nextPath = undefined;
    if (type === 'x') nextPath = paxPath(data);
    else if (type === '0' || type === '\0') files.set(name.replace(/^\.?\/+/, ''), Buffer.from(data));
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
