// Constant-time comparison of bearer secrets: both sides are hashed first so neither the length
// nor a prefix of the secret leaks through timing.

import { createHash, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
