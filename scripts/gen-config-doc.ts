// Writes docs/configuration.md from the schema (`npm run docs:config`); a unit test keeps the two
// equal, so the reference cannot go stale.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configReference } from '../src/config/reference.js';

const out = resolve(import.meta.dirname, '../docs/configuration.md');
writeFileSync(out, configReference());
process.stdout.write(`wrote ${out}\n`);
