// The V8 options of src/heap-flags.ts: every launcher the project ships passes the same ones, Node
// accepts them (a misspelt one stops `node` with "bad option"), and applyHeapFlags() leaves alone a
// flag the operator set either way on the command line.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAP_FLAGS, applyHeapFlags } from '../../src/heap-flags.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('heap flags', () => {
  it('are on the warden bin\'s shebang, which Node runs with them', () => {
    const shebang = readFileSync(resolve(ROOT, 'src/main.ts'), 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${HEAP_FLAGS.join(' ')}`);
    const argv = execFileSync('/usr/bin/env', ['-S', `${shebang.slice('#!/usr/bin/env -S '.length)} -e process.stdout.write(JSON.stringify(process.execArgv))`], { encoding: 'utf8' });
    expect(JSON.parse(argv)).toEqual(expect.arrayContaining([...HEAP_FLAGS]));
  });

  it('are set at start when the command line has none of them, but for those V8 reads only at start: they are reported', () => {
    expect(applyHeapFlags(['--import', 'tsx'])).toEqual({ applied: ['--no-allocation-site-pretenuring'], missing: ['--no-memory-reducer', '--max-semi-space-size=8'] });
  });

  it('leave a flag the operator set either way, in either spelling', () => {
    for (const flag of HEAP_FLAGS) {
      const name = flag.replace(/^--(no-)?/, '').replace(/=.*$/, '');
      const others = HEAP_FLAGS.filter((f) => f !== flag);
      const spellings = flag.includes('=') ? [`--${name}=16`, `--${name.replaceAll('-', '_')}=32`] : [`--${name}`, `--${name.replaceAll('-', '_')}`, `--no-${name}`, `--no${name}`];
      for (const given of spellings) {
        const { applied, missing } = applyHeapFlags([given]);
        expect([...applied, ...missing].sort(), given).toEqual([...others].sort());
      }
    }
  });
});
