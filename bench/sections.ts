// Sections of bench/RESULTS.md written by the focused benchmarks (`npm run bench:fleet -- --write`)
// between `<!-- section:NAME -->` markers, and kept when `npm run bench` rewrites the rest.

import { readFile, writeFile } from 'node:fs/promises';

const open = (name: string): string => `<!-- section:${name} -->`;
const close = (name: string): string => `<!-- /section:${name} -->`;
const SECTION = /<!-- section:([a-z-]+) -->[\s\S]*?<!-- \/section:\1 -->\n?/g;

/** Every marked section of `text`, in order. */
export function markedSections(text: string): string[] {
  return [...text.matchAll(SECTION)].map((m) => m[0].endsWith('\n') ? m[0] : `${m[0]}\n`);
}

/** Replaces the section `name` of `file` with `markdown`, or appends it. */
export async function writeSection(file: string, name: string, markdown: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const block = `${open(name)}\n${markdown.trim()}\n${close(name)}\n`;
  const at = text.indexOf(open(name));
  const end = text.indexOf(close(name));
  const next = at >= 0 && end > at ? text.slice(0, at) + block + text.slice(end + close(name).length).replace(/^\n/, '') : `${text.trimEnd()}\n\n${block}`;
  await writeFile(file, next);
}
