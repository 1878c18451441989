#!/usr/bin/env node
// Runs `opa test -v rego/` with the pinned opa.
import path from 'node:path';
import { PROJECT_ROOT, runOpaTests } from './opa.mjs';

try {
  await runOpaTests(path.join(PROJECT_ROOT, 'rego'));
} catch (err) {
  console.error(`policy-test: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
