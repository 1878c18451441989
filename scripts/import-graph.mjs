// The import graph of src/: which folder (domain) imports which, and the cycles in it. Files at the
// top of src/ count as their own node (errors.ts, sidecar.ts, main.ts). Only relative imports
// count; `import type` counts too, since a type import couples two folders as much as a value one.
// Usage: node scripts/import-graph.mjs  (prints the folder edges and exits 1 on a cycle)

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;

function listTs(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return listTs(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The node of a file: its top folder under src/, or the file itself at the top. */
export function nodeOf(srcDir, file) {
  const rel = path.relative(srcDir, file).split(path.sep);
  return rel.length === 1 ? rel[0].replace(/\.ts$/, '') : rel[0];
}

/** Edges between folders: Map<from, Map<to, example "a.ts -> b.ts">>. */
export function folderGraph(srcDir) {
  return graph(srcDir, (f) => nodeOf(srcDir, f));
}

/** Edges between files (paths relative to src/). */
export function fileGraph(srcDir) {
  return graph(srcDir, (f) => path.relative(srcDir, f));
}

function graph(srcDir, node) {
  const edges = new Map();
  for (const file of listTs(srcDir)) {
    const from = node(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
      if (!target.startsWith(srcDir + path.sep)) continue;
      const to = node(target);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from).has(to)) edges.get(from).set(to, `${path.relative(srcDir, file)} -> ${path.relative(srcDir, target)}`);
    }
  }
  return edges;
}

/** Every strongly connected component with more than one node (Tarjan). */
export function cycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  let i = 0;
  const visit = (v) => {
    index.set(v, i);
    low.set(v, i);
    i++;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const edges = folderGraph(srcDir);
  for (const [from, tos] of [...edges].sort()) console.log(`${from} -> ${[...tos.keys()].sort().join(', ')}`);
  const found = [...cycles(edges), ...cycles(fileGraph(srcDir))];
  for (const c of found) {
    console.error(`cycle between ${c.join(', ')}:`);
    for (const a of c) for (const [b, why] of edges.get(a) ?? []) if (c.includes(b)) console.error(`  ${why}`);
  }
  process.exit(found.length > 0 ? 1 : 0);
}
