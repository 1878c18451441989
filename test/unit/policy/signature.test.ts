import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBundleFiles } from '../../../src/policy/bundle.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { BundleVerifier, type VerificationOptions } from '../../../src/policy/signature.js';
import { compilePolicy } from '../../helpers/policy.js';
import { SIMPLE_POLICY, addFile, editJson, makeKey, repack, signedPolicy, unpack, type SigningAlgorithm, type TestKey } from '../../helpers/signed-bundle.js';

const refused = (detail: RegExp) => expect.objectContaining({ code: 'POLICY_BUNDLE_UNVERIFIED', detail: expect.stringMatching(detail) });

function verifier(key: TestKey, opts: Partial<VerificationOptions> & { keyScope?: string } = {}): BundleVerifier {
  const { keyScope, ...rest } = opts;
  return new BundleVerifier({ keyId: 'k1', excludeFiles: [], keys: { k1: { algorithm: key.algorithm, key: key.verificationKey, ...(keyScope && { scope: keyScope }) } }, ...rest });
}

const verify = async (v: BundleVerifier, source: string): Promise<void> => v.verify(await readBundleFiles(source));

describe('signed bundles (signed by the pinned opa build --signing-key)', () => {
  it.each<SigningAlgorithm>(['RS256', 'ES256', 'EdDSA', 'HS256'])('a %s bundle verifies and loads', async (alg) => {
    const key = makeKey(alg);
    const bundle = await signedPolicy(key, { revision: `rev-${alg}` });
    const engine = new PolicyEngine({ entrypoint: 'warden/decision', maxMemoryPages: 64, verifier: verifier(key) });
    expect((await engine.load(bundle)).revision).toBe(`rev-${alg}`);
    expect(engine.evaluate('{}').decision).toMatchObject({ decision: 'allow', reason: 'signed' });
  });

  describe('with one RS256 key', () => {
    let key: TestKey;
    let bundle: string;
    beforeAll(async () => {
      key = makeKey('RS256');
      bundle = await signedPolicy(key);
    });

    it('refuses an unsigned bundle, and the engine keeps the last good policy', async () => {
      const engine = new PolicyEngine({ entrypoint: 'warden/decision', maxMemoryPages: 64, verifier: verifier(key) });
      await engine.load(bundle);
      const unsigned = await compilePolicy(SIMPLE_POLICY, { data: { reason: 'unsigned' }, revision: 'evil' });
      await expect(engine.load(unsigned)).rejects.toThrow(refused(/not signed/));
      expect(engine.revision).not.toBe('evil');
      expect(engine.evaluate('{}').decision).toMatchObject({ reason: 'signed' });
    });

    it('refuses a bundle signed with another key', async () => {
      await expect(verify(verifier(makeKey('RS256')), bundle)).rejects.toThrow(refused(/does not verify/));
    });

    it('refuses a key of another algorithm than the one configured', async () => {
      const other = makeKey('ES256');
      await expect(verify(new BundleVerifier({ keyId: 'k1', excludeFiles: [], keys: { k1: { algorithm: 'ES256', key: other.verificationKey } } }), bundle)).rejects.toThrow(refused(/does not verify/));
    });

    it('refuses data changed after signing', async () => {
      const tampered = repack(bundle, (dir) => editJson(dir, 'data.json', (d) => ({ ...d, reason: 'tampered' })));
      await expect(verify(verifier(key), tampered)).rejects.toThrow(refused(/data\.json: digest mismatch/));
    });

    it('refuses a policy module changed after signing', async () => {
      const dir = unpack(bundle);
      writeFileSync(join(dir, 'policy.wasm'), Buffer.concat([(await readBundleFiles(dir)).get('policy.wasm')!, Buffer.from([0])]));
      await expect(verify(verifier(key), dir)).rejects.toThrow(refused(/policy\.wasm: digest mismatch/));
    });

    it('refuses a changed manifest (revision)', async () => {
      const tampered = repack(bundle, (dir) => editJson(dir, '.manifest', (m) => ({ ...m, revision: 'forged' })));
      await expect(verify(verifier(key), tampered)).rejects.toThrow(refused(/\.manifest: digest mismatch/));
    });

    it('accepts data.json re-serialized without a semantic change (OPA hashes JSON canonically)', async () => {
      const dir = unpack(bundle);
      editJson(dir, 'data.json', (d) => Object.fromEntries(Object.entries(d as object).reverse()));
      writeFileSync(join(dir, 'data.json'), `\n  ${(await readBundleFiles(dir)).get('data.json')!.toString()}  \n`);
      await expect(verify(verifier(key), dir)).resolves.toBeUndefined();
    });

    it('refuses a file added after signing unless exclude_files matches it', async () => {
      const dir = unpack(bundle);
      addFile(dir, 'extra/notes.txt', 'added later');
      await expect(verify(verifier(key), dir)).rejects.toThrow(refused(/extra\/notes\.txt is not included/));
      await expect(verify(verifier(key, { excludeFiles: ['extra/*.txt'] }), dir)).resolves.toBeUndefined();
      await expect(verify(verifier(key, { excludeFiles: ['*.txt'] }), dir)).rejects.toThrow(refused(/not included/));
    });

    it('refuses a bundle missing a signed file', async () => {
      const dir = unpack(bundle);
      rmSync(join(dir, 'data.json'));
      await expect(verify(verifier(key), dir)).rejects.toThrow(refused(/data\.json are signed but not in the bundle/));
    });

    it('refuses a .signatures.json with no or two JWTs', async () => {
      for (const sigs of [[], ['a.b.c', 'a.b.c']]) {
        const dir = unpack(bundle);
        writeFileSync(join(dir, '.signatures.json'), JSON.stringify({ signatures: sigs }));
        await expect(verify(verifier(key), dir)).rejects.toThrow(refused(/exactly one JWT/));
      }
    });

    it('refuses a key id that is not configured', async () => {
      await expect(verify(verifier(key, { keyId: 'other' }), bundle)).rejects.toThrow(refused(/key "other" is not configured/));
    });
  });

  describe('key id and scope', () => {
    it('takes the key from the JWT kid when key_id is not set', async () => {
      const key = makeKey('ES256');
      const bundle = await signedPolicy(key, { keyId: 'prod' });
      const v = new BundleVerifier({ excludeFiles: [], keys: { prod: { algorithm: 'ES256', key: key.verificationKey } } });
      await expect(verify(v, bundle)).resolves.toBeUndefined();
    });

    it('checks the scope against verification.scope, else the key scope', async () => {
      const key = makeKey('EdDSA');
      const bundle = await signedPolicy(key, { keyId: 'k1', scope: 'write' });
      await expect(verify(verifier(key, { scope: 'write' }), bundle)).resolves.toBeUndefined();
      await expect(verify(verifier(key, { keyScope: 'write' }), bundle)).resolves.toBeUndefined();
      await expect(verify(verifier(key, { scope: 'read' }), bundle)).rejects.toThrow(refused(/scope mismatch/));
      await expect(verify(verifier(key), bundle)).rejects.toThrow(refused(/scope mismatch/));
      const unscoped = await signedPolicy(key);
      await expect(verify(verifier(key, { scope: 'write' }), unscoped)).rejects.toThrow(refused(/scope mismatch/));
    });
  });

  it('refuses an unusable key at start with CONFIG_INVALID', () => {
    expect(() => new BundleVerifier({ excludeFiles: [], keys: { k: { algorithm: 'RS256', key: 'not a pem' } } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
