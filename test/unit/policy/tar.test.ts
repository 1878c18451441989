import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { entryName, readTarGz } from '../../../src/policy/tar.js';
import { EXAMPLE_BUNDLE } from '../../helpers/policy.js';
import { packTarGz as archive } from '../../helpers/tar.js';

async function refusal(gz: Buffer, maxBytes?: number): Promise<string> {
  try {
    await readTarGz(gz, maxBytes);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the archive to be refused');
}

describe('readTarGz', () => {
  it('reads the bundle that `opa build` writes', async () => {
    const files = await readTarGz(readFileSync(EXAMPLE_BUNDLE));
    expect([...files.keys()].sort()).toEqual(expect.arrayContaining(['.manifest', 'data.json', 'policy.wasm']));
    expect(files.get('policy.wasm')!.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x61, 0x73, 0x6d]));
    expect(JSON.parse(files.get('.manifest')!.toString('utf8'))).toHaveProperty('revision');
  });

  it('normalizes names and honours long (PAX) names', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.json`;
    const files = await readTarGz(await archive([{ name: '/data.json', body: '{}' }, { name: './policy.wasm', body: 'w' }, { name: long, body: 'x' }]));
    expect(new Map([...files].map(([k, v]) => [k, v.toString()]))).toEqual(new Map([['data.json', '{}'], ['policy.wasm', 'w'], [long, 'x']]));
  });

  it('keeps only regular files: links, symlinks and directories are skipped, never followed', async () => {
    const files = await readTarGz(await archive([
      { name: 'dir', type: 'directory' },
      { name: 'policy.wasm', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'data.json', type: 'link', linkname: 'other' },
      { name: 'other', body: 'kept' },
    ]));
    expect([...files.keys()]).toEqual(['other']);
  });

  it.each([
    ['a parent segment', '../outside'],
    ['a parent segment in the middle', 'a/../../outside'],
    ['an absolute climb', '/../etc/passwd'],
  ])('refuses an entry name with %s', async (_what, name) => {
    expect(await refusal(await archive([{ name: 'policy.wasm', body: 'w' }, { name, body: 'x' }]))).toMatch(/leaves the bundle/);
  });

  it('refuses an archive that names a file twice', async () => {
    expect(await refusal(await archive([{ name: 'policy.wasm', body: 'good' }, { name: '/policy.wasm', body: 'evil' }]))).toBe('tar entry policy.wasm appears twice');
  });

  it('stops inflating at the bound (gzip bomb)', async () => {
    const bomb = await archive([{ name: 'data.json', body: ' '.repeat(2 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(16 * 1024);
    expect(await refusal(bomb, 1024 * 1024)).toBe('archive exceeds 1048576 bytes uncompressed');
    expect((await readTarGz(bomb, 4 * 1024 * 1024)).get('data.json')!.length).toBe(2 * 1024 * 1024);
  });

  it('refuses a truncated archive and what is not gzip', async () => {
    const whole = await archive([{ name: 'policy.wasm', body: 'w'.repeat(5000) }]);
    const cut = gzipSync(gunzipSync(whole).subarray(0, 2048));
    expect(await refusal(cut)).toBe('Unexpected end of data');
    expect(await refusal(Buffer.from('this is not a gzip file'))).toBe('incorrect header check');
  });

  it.each([['/policy.wasm', 'policy.wasm'], ['./data.json', 'data.json'], ['a/b', 'a/b'], ['.manifest', '.manifest']])('names %s as %s', (raw, name) => {
    expect(entryName(raw)).toBe(name);
  });
});
