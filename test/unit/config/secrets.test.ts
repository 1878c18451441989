// SecretTemplate: an environment reference is read once (the first resolve, at start) and kept, as
// a process's environment cannot change from outside it; a file reference follows the file.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretTemplate } from '../../../src/config/secrets.js';

const VAR = 'UNIT_SECRET_TEMPLATE_VAR';

afterEach(() => {
  delete process.env[VAR];
});

function refusal(t: SecretTemplate): string {
  try {
    t.resolve();
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
  throw new Error('expected the reference to be refused');
}

describe('SecretTemplate', () => {
  it('reads an environment variable once and keeps its value', () => {
    process.env[VAR] = 'first-value-0123456789';
    const t = new SecretTemplate(`Bearer \${env:${VAR}}`, tmpdir(), 'upstreams.gh.lanes.read.value');
    expect(t.resolve()).toBe('Bearer first-value-0123456789');
    process.env[VAR] = 'changed-in-process';
    expect(t.resolve()).toBe('Bearer first-value-0123456789');
    delete process.env[VAR];
    expect(t.resolve()).toBe('Bearer first-value-0123456789');
  });

  it('refuses an unset or empty variable, naming it and where it is used, on every resolve until it is set', () => {
    const t = new SecretTemplate(`\${env:${VAR}}`, tmpdir(), 'admin.token');
    expect(refusal(t)).toMatch(new RegExp(`^CONFIG_SECRET_UNRESOLVED: .*admin\\.token: environment variable ${VAR} is not set`));
    process.env[VAR] = '';
    expect(refusal(t)).toMatch(/^CONFIG_SECRET_UNRESOLVED: /);
    process.env[VAR] = 'now-set-0123456789';
    expect(t.resolve()).toBe('now-set-0123456789');
  });

  it('follows a file reference when the file changes, with the environment part kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-secret-'));
    writeFileSync(join(dir, 'token'), 'file-v1\n');
    process.env[VAR] = 'env-part';
    const t = new SecretTemplate(`\${env:${VAR}}:\${file:token}`, dir, 'lane');
    expect(t.resolve()).toBe('env-part:file-v1');
    writeFileSync(join(dir, 'token'), 'file-v2-longer\n');
    expect(t.resolve()).toBe('env-part:file-v2-longer');
  });
});
