// Signed bundles for tests: keys written as PEM files, bundles signed by the pinned
// `opa build --signing-key` (never by Warden's own code), and archives changed after signing.

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicy, type CompilePolicyOptions } from './policy.js';
import { tempDir } from './warden.js';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA' | 'HS256';

export interface TestKey {
  readonly algorithm: SigningAlgorithm;
  /** File given to `opa build --signing-key` (private PEM, or the HMAC secret). */
  readonly signingFile: string;
  /** What `policy.verification.keys.<id>.key` holds (public PEM, or the secret). */
  readonly verificationKey: string;
  /** A file holding verificationKey, for `${file:...}`. */
  readonly verificationFile: string;
}

export function makeKey(algorithm: SigningAlgorithm): TestKey {
  const dir = tempDir('warden-key-');
  let priv: string;
  let pub: string;
  if (algorithm === 'HS256') {
    priv = pub = `hmac-secret-${Math.random().toString(36).slice(2)}`;
  } else {
    const pair =
      algorithm === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : algorithm === 'ES256'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('ed25519');
    priv = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    pub = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
  const signingFile = join(dir, 'signing.key');
  const verificationFile = join(dir, 'verification.key');
  writeFileSync(signingFile, priv);
  writeFileSync(verificationFile, pub);
  return { algorithm, signingFile, verificationKey: pub, verificationFile };
}

export const SIMPLE_POLICY = `package warden
import rego.v1
decision := {"decision": "allow", "headers": {}, "reason": data.reason}
`;

/** The simple allow policy, signed by `opa build` with `key`. */
export function signedPolicy(key: TestKey, opts: CompilePolicyOptions & { keyId?: string; scope?: string } = {}): Promise<string> {
  const { keyId, scope, ...rest } = opts;
  return compilePolicy(SIMPLE_POLICY, {
    data: { reason: 'signed' },
    ...rest,
    signing: { key: key.signingFile, algorithm: key.algorithm, ...(keyId && { keyId }), ...(scope && { claims: { scope } }) },
  });
}

/** The archive unpacked into a fresh directory (a directory bundle). */
export function unpack(gz: string): string {
  const dir = tempDir('warden-unpacked-');
  execFileSync('tar', ['-xzf', gz, '-C', dir], { stdio: 'pipe' });
  return dir;
}

/** A copy of the archive with `change` applied to its unpacked files after signing. */
export function repack(gz: string, change: (dir: string) => void): string {
  const dir = unpack(gz);
  change(dir);
  const out = join(tempDir('warden-repacked-'), 'bundle.tar.gz');
  execFileSync('tar', ['-czf', out, '-C', dir, '.'], { stdio: 'pipe' });
  return out;
}

/** Rewrites a JSON file of an unpacked bundle. */
export function editJson(dir: string, name: string, edit: (v: any) => unknown): void {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(file, 'utf8')))));
}

export function addFile(dir: string, name: string, text: string): void {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), text);
}
