// Tampering with a real decision log, and an Ed25519 checkpoint key pair, for the audit tests.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainHash, splitChained, GENESIS } from '../../src/audit/chain.js';

/** The lines of a log file (without the final empty string). */
export function logLines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n')).split('\n');
}

export function writeLines(file: string, lines: readonly string[]): string {
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Index of the first line whose parsed object matches `pred`. */
export function indexWhere(lines: readonly string[], pred: (l: Record<string, any>) => boolean): number {
  const i = lines.findIndex((l) => pred(JSON.parse(l)));
  if (i < 0) throw new Error('no such line');
  return i;
}

/** What an attacker without the checkpoint key can do: recompute every link after a change. */
export function rechain(lines: readonly string[]): string[] {
  let prev = GENESIS;
  return lines.map((line, seq) => {
    const s = splitChained(line);
    if (!s) throw new Error('unchained line');
    const hash = chainHash(prev, s.body);
    const out = `${s.body.slice(0, -1)},"chain":{"seq":${seq},"prev":"${prev}","hash":"${hash}"}}`;
    prev = hash;
    return out;
  });
}

/** An Ed25519 key pair as PEM files in `dir`: the private key for Warden, the public one for verify. */
export function checkpointKeys(dir: string): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const priv = join(dir, 'audit-ed25519.pem');
  const pub = join(dir, 'audit-ed25519.pub.pem');
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey: priv, publicKey: pub };
}
