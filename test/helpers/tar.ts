// Test archives written by tar-stream's packer (the same ustar/PAX format `opa build` writes).

import { gzipSync } from 'node:zlib';
import { pack, type Headers } from 'tar-stream';

export type TarEntry = Headers & { body?: Buffer | string };

export async function packTarGz(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...header } of entries) p.entry(header, body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk);
  return gzipSync(Buffer.concat(chunks));
}
