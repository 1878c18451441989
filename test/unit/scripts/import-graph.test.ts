// No import cycles in src/: neither between files nor between folders (domains). A pair of folders
// importing each other (identity ↔ tasks, proxy ↔ stepup once) means one of them holds the other's
// concept; move it instead of importing back.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, fileGraph, folderGraph } from '../../../scripts/import-graph.mjs';

const SRC = path.resolve(import.meta.dirname, '../../../src');

describe('import graph of src/', () => {
  it('has no cycle between folders', () => {
    const edges = folderGraph(SRC);
    expect(edges.get('proxy')?.has('stepup')).toBe(true); // the graph is read at all
    expect(cycles(edges)).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(cycles(fileGraph(SRC))).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const edges = new Map([
      ['identity', new Map([['tasks', 'a'], ['errors', 'b']])],
      ['tasks', new Map([['identity', 'c']])],
      ['proxy', new Map([['stepup', 'd']])],
      ['stepup', new Map([['store', 'e']])],
      ['store', new Map([['proxy', 'f']])],
    ]);
    expect(cycles(edges)).toEqual(expect.arrayContaining([['identity', 'tasks'], ['proxy', 'stepup', 'store']]));
    expect(cycles(edges)).toHaveLength(2);
  });
});
