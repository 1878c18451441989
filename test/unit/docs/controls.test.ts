// docs/controls.md links a test for every control it claims: each link must name a test that
// exists in the linked file, and every row of the three tables must link at least one.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DOCS = resolve(import.meta.dirname, '../../../docs');
const text = readFileSync(resolve(DOCS, 'controls.md'), 'utf8');
const LINK = /\[([^\]]+)\]\((\.\.\/test\/[^)]+\.test\.ts)\)/g;

/** The test titles of a file as written in it('...'), test("...") or it(`...`). */
function titles(file: string): string {
  // A title may escape its quote (it('the approver\'s reason')): compare unescaped.
  return readFileSync(file, 'utf8').replace(/\\(['"`])/g, '$1');
}

function hasTest(source: string, name: string): boolean {
  return ['it(', 'test('].some((call) => ["'", '"', '`'].some((q) => source.includes(`${call}${q}${name}${q}`)));
}

const rows = text.split('\n').filter((l) => /^\| (ASI\d\d|L\d|Govern|Map|Measure|Manage) /.test(l));

describe('docs/controls.md', () => {
  it('maps ASI01–ASI10, the seven MAESTRO layers and the four NIST AI RMF functions', () => {
    const heads = rows.map((r) => r.split('|')[1]!.trim().split(' ')[0]);
    expect(heads).toEqual(['ASI01', 'ASI02', 'ASI03', 'ASI04', 'ASI05', 'ASI06', 'ASI07', 'ASI08', 'ASI09', 'ASI10', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7', 'Govern', 'Map', 'Measure', 'Manage']);
  });

  it('links at least one test from every row, and names a coverage and a gap', () => {
    for (const row of rows) {
      const cells = row.split(' | ');
      expect(cells[1], row).toMatch(/^(yes|partial|no)$/);
      expect(cells[3]!.length, row).toBeGreaterThan(10);
      expect([...row.matchAll(LINK)].length, row).toBeGreaterThan(0);
    }
  });

  it('names only tests that exist in the linked files', () => {
    const links = [...text.matchAll(LINK)];
    expect(links.length).toBeGreaterThan(40);
    const missing = links.filter(([, name, target]) => {
      const file = resolve(DOCS, target!);
      return !existsSync(file) || !hasTest(titles(file), name!);
    });
    expect(missing.map(([, name, target]) => `${target}: ${name}`)).toEqual([]);
  });
});
