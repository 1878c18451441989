// Signed checkpoints (`decision_log.checkpoints`): an Ed25519 signature over the chain head, written
// into the log as a line of its own every `every` lines, every `interval`, at start, at rotation
// and at close. The hash chain alone can be recomputed by anyone who rewrites the file; a
// checkpoint cannot be forged without the key, and a log that ends neither in a closing checkpoint
// nor within `interval` of a recent one has lost its tail.

import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { WardenConfig } from '../config/schema.js';
import { SecretTemplate } from '../config/secrets.js';
import { WardenError } from '../errors.js';
import type { ChainHead } from './chain.js';

export type CheckpointReason = 'every' | 'interval' | 'start' | 'rotate' | 'close';

/** The signed fields of a checkpoint line (`type: "checkpoint"`). */
export interface Checkpoint {
  timestamp: string;
  /** seq and hash of the last line the checkpoint covers. */
  seq: number;
  hash: string;
  reason: CheckpointReason;
  every: number;
  interval_ms: number;
}

function payload(c: Checkpoint): Buffer {
  return Buffer.from(`warden-checkpoint/v1\n${c.timestamp}\n${c.seq}\n${c.hash}\n${c.reason}\n${c.every}\n${c.interval_ms}`);
}

export function checkpointLine(head: ChainHead, reason: CheckpointReason, opts: { every: number; intervalMs: number; key: KeyObject }, now = new Date()): string {
  const c: Checkpoint = { timestamp: now.toISOString(), seq: head.seq, hash: head.hash, reason, every: opts.every, interval_ms: opts.intervalMs };
  const signature = sign(null, payload(c), opts.key).toString('base64');
  const { timestamp, ...rest } = c;
  return JSON.stringify({ timestamp, type: 'checkpoint', ...rest, signature });
}

/** Does `line` (parsed) carry a valid signature by `key` over its checkpoint fields? */
export function checkpointValid(line: Record<string, unknown>, key: KeyObject): boolean {
  const { timestamp, seq, hash, reason, every, interval_ms: intervalMs, signature } = line;
  if (typeof timestamp !== 'string' || typeof seq !== 'number' || typeof hash !== 'string' || typeof reason !== 'string' || typeof every !== 'number' || typeof intervalMs !== 'number' || typeof signature !== 'string') return false;
  const c = { timestamp, seq, hash, reason: reason as CheckpointReason, every, interval_ms: intervalMs };
  try {
    return verify(null, payload(c), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The Ed25519 signing key from PEM text (`decision_log.checkpoints.key`). */
export function checkpointSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', 'decision_log.checkpoints.key: not a PEM private key', { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new WardenError('CONFIG_INVALID', 'decision_log.checkpoints.key: must be an Ed25519 key');
  return key;
}

/** The verification key from PEM text: a public key, or the private key itself. */
export function checkpointVerifyKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the checkpoint key must be an Ed25519 key');
  return key;
}

/** The DecisionLog's checkpoint options from `decision_log.checkpoints` (the key resolved now). */
export function checkpointOptions(cfg: WardenConfig['decision_log']['checkpoints'], baseDir: string): { every: number; intervalMs: number; key: KeyObject } | undefined {
  if (!cfg) return undefined;
  const pem = new SecretTemplate(cfg.key, baseDir, 'decision_log.checkpoints.key').resolve();
  return { every: cfg.every, intervalMs: cfg.interval, key: checkpointSigningKey(pem) };
}
