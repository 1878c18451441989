// A byte buffer that grows by doubling, for writers that encode into one buffer as data arrives
// (the decision-log shipper's batches, the OTLP span encoder).

import { Buffer } from 'node:buffer';

/**
 * `buf` when `more` bytes fit after its first `used`; else a buffer at least twice as large holding
 * them, from `alloc` (Buffer.allocUnsafeSlow for one that owns its ArrayBuffer, to be transferred).
 */
export function withRoom(buf: Buffer, used: number, more: number, alloc: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const need = used + more;
  if (need <= buf.length) return buf;
  const next = alloc(Math.max(buf.length * 2, need));
  buf.copy(next, 0, 0, used);
  return next;
}
