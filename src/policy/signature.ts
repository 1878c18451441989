// Signed bundles as OPA verifies them: `.signatures.json` holds exactly one JWT whose payload lists
// every file of the bundle with its digest. The key is the configured `key_id`, else the JWT's
// `kid`, else its deprecated `keyid` claim; the JWT must verify under that key's algorithm; its
// `scope` must equal the configured one (verification's, else the key's); then every file but
// `.signatures.json` and those matching `exclude_files` must be listed with the right digest, and
// every listed file must be present. Unlike OPA, a bundle without `.signatures.json` is refused
// whenever verification is configured, key id or not (fail closed).

import { Buffer } from 'node:buffer';
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { compactVerify } from 'jose/jws/compact/verify';
import { WardenError, describeThrown } from '../errors.js';
import { bundleFileDigest } from './file-hash.js';
import { globToRegExp } from './glob.js';

export const SIGNATURES_FILE = '.signatures.json';

export interface VerificationKey {
  readonly algorithm: string;
  /** PEM (public key or certificate) for RS/PS/ES/EdDSA; the shared secret for HS. */
  readonly key: string;
  readonly scope?: string;
}

export interface VerificationOptions {
  readonly keyId?: string;
  readonly scope?: string;
  readonly excludeFiles: readonly string[];
  readonly keys: Readonly<Record<string, VerificationKey>>;
}

interface SignedFile {
  name: string;
  hash: string;
  algorithm: string;
}

interface Payload {
  files?: unknown;
  keyid?: unknown;
  scope?: unknown;
}

function refused(why: string, cause?: unknown): WardenError {
  return new WardenError('POLICY_BUNDLE_UNVERIFIED', why, { cause });
}

function decodePart(part: string | undefined): unknown {
  try {
    return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
  } catch (err) {
    throw refused(`${SIGNATURES_FILE}: the JWT is malformed`, err);
  }
}

function parseFiles(value: unknown): SignedFile[] {
  if (!Array.isArray(value)) throw refused(`${SIGNATURES_FILE}: the JWT lists no files`);
  return value.map((f: unknown) => {
    const { name, hash, algorithm } = (f ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof hash !== 'string' || typeof algorithm !== 'string' || algorithm === '') {
      throw refused(`${SIGNATURES_FILE}: a listed file lacks its name, hash or algorithm`);
    }
    return { name: name.replace(/^\/+/, ''), hash: hash.toLowerCase(), algorithm };
  });
}

export class BundleVerifier {
  readonly #opts: VerificationOptions;
  readonly #keys = new Map<string, { algorithm: string; key: KeyObject | Uint8Array; scope?: string }>();
  readonly #exclude: RegExp[];

  /** Parses every key now, so a bad key stops the start (CONFIG_INVALID names it). */
  constructor(opts: VerificationOptions) {
    this.#opts = opts;
    for (const [id, k] of Object.entries(opts.keys)) {
      let key: KeyObject | Uint8Array;
      try {
        key = k.algorithm.startsWith('HS') ? createSecretKey(Buffer.from(k.key, 'utf8')) : createPublicKey(k.key);
      } catch (err) {
        throw new WardenError('CONFIG_INVALID', `policy.verification.keys.${id}.key: not a usable ${k.algorithm} key (${describeThrown(err)})`, { cause: err });
      }
      this.#keys.set(id, { algorithm: k.algorithm, key, ...(k.scope !== undefined && { scope: k.scope }) });
    }
    this.#exclude = opts.excludeFiles.map(globToRegExp);
  }

  /** Throws POLICY_BUNDLE_UNVERIFIED unless the files are exactly the signed ones. */
  async verify(files: ReadonlyMap<string, Buffer>): Promise<void> {
    const signed = await this.#signedFiles(files.get(SIGNATURES_FILE));
    for (const [name, content] of files) {
      if (name === SIGNATURES_FILE) continue;
      const entry = signed.get(name);
      signed.delete(name);
      if (this.#exclude.some((re) => re.test(name))) continue;
      if (!entry) throw refused(`file ${name} is not included in the bundle signature`);
      let digest: string;
      try {
        digest = bundleFileDigest(name, content, entry.algorithm);
      } catch (err) {
        throw refused(`${name}: ${describeThrown(err)}`, err);
      }
      if (digest !== entry.hash) throw refused(`${name}: digest mismatch`);
    }
    if (signed.size > 0) throw refused(`file(s) ${[...signed.keys()].join(', ')} are signed but not in the bundle`);
  }

  async #signedFiles(raw: Buffer | undefined): Promise<Map<string, SignedFile>> {
    if (!raw) throw refused(`the bundle is not signed (no ${SIGNATURES_FILE})`);
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw refused(`${SIGNATURES_FILE} is not valid JSON`, err);
    }
    const tokens = (doc as { signatures?: unknown } | null)?.signatures;
    if (!Array.isArray(tokens) || tokens.length !== 1 || typeof tokens[0] !== 'string') {
      throw refused(`${SIGNATURES_FILE}: expected exactly one JWT`);
    }
    const token = tokens[0];
    const parts = token.split('.');
    if (parts.length !== 3) throw refused(`${SIGNATURES_FILE}: the JWT is malformed`);
    const payload = decodePart(parts[1]) as Payload | null;
    if (typeof payload !== 'object' || payload === null) throw refused(`${SIGNATURES_FILE}: the JWT payload is not an object`);
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch (err) {
      throw refused(`${SIGNATURES_FILE}: the JWT header is malformed`, err);
    }
    const keyId = this.#opts.keyId || (typeof kid === 'string' && kid) || (typeof payload.keyid === 'string' && payload.keyid) || '';
    if (!keyId) throw refused('the signature names no key and policy.verification.key_id is not set');
    const key = this.#keys.get(keyId);
    if (!key) throw refused(`the signature's key ${JSON.stringify(keyId.slice(0, 64))} is not configured`);
    try {
      await compactVerify(token, key.key, { algorithms: [key.algorithm] });
    } catch (err) {
      throw refused(`the signature does not verify with key ${keyId}`, err);
    }
    const scope = this.#opts.scope || key.scope || '';
    const signedScope = typeof payload.scope === 'string' ? payload.scope : '';
    if (signedScope !== scope) throw refused('scope mismatch');
    const signed = new Map<string, SignedFile>();
    for (const f of parseFiles(payload.files)) signed.set(f.name, f);
    return signed;
  }
}
