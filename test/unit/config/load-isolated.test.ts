import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import { loadConfigIsolated } from '../../../src/config/load-isolated.js';

process.env.UNIT_ADMIN_TOKEN = 'unit-admin-token-0123456789';
process.env.UNIT_LANE = 'unit-lane-credential';

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'warden-isolated-')), 'warden.yaml');
  writeFileSync(file, yaml);
  return file;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration loaded in a worker thread', () => {
  it('gives the configuration and secrets loadConfigFile gives, frozen, with the overrides', async () => {
    const file = configFile("admin: { token: '${env:UNIT_ADMIN_TOKEN}' }\nupstreams:\n  gh: { prefix: /gh, url: 'http://127.0.0.1:9', lanes: { read: { header: authorization, value: 'Bearer ${env:UNIT_LANE}' } } }\n");
    const overrides = { listen: '127.0.0.1:0', adminListen: '127.0.0.1:0' };
    const isolated = await loadConfigIsolated(file, overrides);
    const direct = loadConfigFile(file, overrides);
    expect(isolated.config).toEqual(direct.config);
    expect(isolated.config.listen).toBe('127.0.0.1:0');
    expect(isolated.baseDir).toBe(direct.baseDir);
    expect(isolated.secrets).toEqual(direct.secrets);
    expect(isolated.lanes.get('gh/read')!.resolve()).toBe('Bearer unit-lane-credential');
    expect(Object.isFrozen(isolated.config.upstreams.gh!.lanes)).toBe(true);
  });

  it('refuses a bad configuration with the coded error loadConfigFile throws', async () => {
    const file = configFile("admin: { token: '${env:UNIT_ADMIN_TOKEN}' }\npolicy: { mode: audit }\n");
    const expected = await refusal(Promise.resolve().then(() => loadConfigFile(file)));
    expect(expected).toMatch(/^CONFIG_INVALID: .*policy\.mode: expected one of enforce, dry-run/);
    expect(await refusal(loadConfigIsolated(file))).toBe(expected);
  });

  it('refuses a missing file and an unresolvable secret at load', async () => {
    expect(await refusal(loadConfigIsolated('/nonexistent/warden.yaml'))).toMatch(/^CONFIG_INVALID: .*cannot read \/nonexistent\/warden\.yaml/);
    const file = configFile("admin: { token: '${env:UNIT_UNSET_VARIABLE}' }\n");
    expect(await refusal(loadConfigIsolated(file))).toMatch(/^CONFIG_SECRET_UNRESOLVED: .*UNIT_UNSET_VARIABLE/);
  });
});
