import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, exportPKCS8, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { GENERATED_KEY_FILE, TaskTokens } from '../../../src/identity/task-tokens.js';
import { makeConfig, tempDir } from './fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const nowSec = (): number => Math.floor(Date.now() / 1000);

describe('TaskTokens', () => {
  it('generates a key once (mode 0600) and reuses it after a restart', async () => {
    const dir = tempDir((f) => cleanups.push(f));
    const first = await TaskTokens.create(makeConfig(dir));
    const file = join(dir, GENERATED_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = await first.sign('agent-1', 'task-1', nowSec(), nowSec() + 60);

    const second = await TaskTokens.create(makeConfig(dir));
    expect(second.kid).toBe(first.kid);
    await expect(second.verify(token, 0)).resolves.toMatchObject({ sub: 'agent-1', tid: 'task-1' });
  });

  it('signs the claims and header the verifier expects', async () => {
    const dir = tempDir((f) => cleanups.push(f));
    const tokens = await TaskTokens.create(makeConfig(dir));
    const iat = nowSec();
    const token = await tokens.sign('agent-1', 'task-1', iat, iat + 900);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: tokens.kid, typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: 'warden', aud: 'warden', sub: 'agent-1', tid: 'task-1', iat, nbf: iat, exp: iat + 900 });
    expect(typeof claims.jti).toBe('string');
  });

  it('uses ES256 with a PKCS#8 key_file relative to the config directory', async () => {
    const dir = tempDir((f) => cleanups.push(f));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(join(dir, 'k.pem'), await exportPKCS8(privateKey));
    const cfg = makeConfig(dir, { identity: { task_tokens: { algorithm: 'ES256', key_file: 'k.pem' } } });
    const tokens = await TaskTokens.create(cfg, { baseDir: dir });
    const token = await tokens.sign('a', 't', nowSec(), nowSec() + 60);
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
    await expect(tokens.verify(token, 0)).resolves.toMatchObject({ tid: 't' });
    expect((await tokens.publicJwk())?.kid).toBe(tokens.kid);
  });

  it('refuses a key that does not fit the algorithm, naming the key', async () => {
    const dir = tempDir((f) => cleanups.push(f));
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    writeFileSync(join(dir, 'k.pem'), await exportPKCS8(privateKey));
    const cfg = makeConfig(dir, { identity: { task_tokens: { algorithm: 'ES256', key_file: join(dir, 'k.pem') } } });
    await expect(TaskTokens.create(cfg)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('identity.task_tokens.key_file') });
    const missing = makeConfig(dir, { identity: { task_tokens: { key_file: join(dir, 'absent.pem') } } });
    await expect(TaskTokens.create(missing)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
