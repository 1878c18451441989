#!/usr/bin/env node
// Prints the path of an opa binary of the pinned version, installing it if needed.
import { ensureOpa } from './opa.mjs';

try {
  console.log(await ensureOpa());
} catch (err) {
  console.error(`ensure-opa: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
