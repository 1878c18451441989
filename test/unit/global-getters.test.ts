// Node defines `Buffer` and `performance` on globalThis as getters (a deprecation path for ES
// modules): every read of the global is a load through V8's global IC and a call of the getter,
// about 20 ns against 3–7 for the module's own binding, and optimized code does not fold it away.
// The trace thread spent a fifth of its time there (bench/HISTORY.md, twelfth session). Warden's
// modules therefore import what they use from `node:buffer` and `node:perf_hooks`, and read
// `hrtime` from `node:process`.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

const sources = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));

/** The code of a module without its comments and string literals (a rough cut, enough for names). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
}

const RULES = [
  { global: 'Buffer', used: /(?<![.\w])Buffer\s*\.|=\s*Buffer\b/, imported: /import \{[^}]*\bBuffer\b[^}]*\} from 'node:buffer'/ },
  { global: 'performance', used: /(?<![.\w])performance\s*\./, imported: /import \{[^}]*\bperformance\b[^}]*\} from 'node:perf_hooks'/ },
  { global: 'process.hrtime', used: /(?<![.\w])process\s*\.\s*hrtime\b/, imported: /(?!)/ },
];

describe('globals that Node defines as getters', () => {
  it('are getters here (why the rule exists)', () => {
    for (const name of ['Buffer', 'performance', 'process']) expect(typeof Object.getOwnPropertyDescriptor(globalThis, name)?.get, name).toBe('function');
  });

  it('are read by src/ through module imports', () => {
    const offending: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      const body = code(text);
      for (const rule of RULES) if (rule.used.test(body) && !rule.imported.test(text)) offending.push(`${relative(SRC, file)}: ${rule.global}`);
    }
    expect(offending).toEqual([]);
  });
});
