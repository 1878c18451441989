// Writes docs/configuration.md and schema/warden.schema.json from the schema
// (`npm run docs:config`); unit tests keep them equal to it, so neither can go stale.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configJsonSchema, configReference } from '../src/config/reference.js';

for (const [file, text] of [
  ['../docs/configuration.md', configReference()],
  ['../schema/warden.schema.json', configJsonSchema()],
] as const) {
  const out = resolve(import.meta.dirname, file);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  process.stdout.write(`wrote ${out}\n`);
}
