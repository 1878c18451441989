// `warden eval`: one decision for one input, printed as JSON. The bundle loads as the sidecar
// loads it: with `policy.verification` configured, an unsigned or tampered bundle is refused
// (POLICY_BUNDLE_UNVERIFIED) before anything is evaluated.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { WardenError } from '../errors.js';
import { createPolicyEngine } from '../policy/source.js';
import { timeInput, type PolicyInput } from '../policy/types.js';

export async function evalCommand(configFile: string, inputFile: string): Promise<{ output: string; exitCode: number }> {
  const loaded = loadConfigFile(configFile);
  const { config, baseDir } = loaded;
  const engine = createPolicyEngine(loaded);
  await engine.load(resolve(baseDir, config.policy.bundle));
  let input: PolicyInput;
  try {
    input = JSON.parse(readFileSync(inputFile === '-' ? 0 : inputFile, 'utf8')) as PolicyInput;
  } catch (err) {
    throw new WardenError('ADMIN_BAD_REQUEST', `--input: ${(err as Error).message}`, { cause: err });
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new WardenError('ADMIN_BAD_REQUEST', '--input must hold a JSON object');
  input.time ??= timeInput(Date.now());
  const { decision, revision } = engine.evaluate(JSON.stringify(input));
  const exitCode = decision.decision === 'allow' ? 0 : decision.decision === 'deny' ? 2 : 3;
  return { output: JSON.stringify({ result: decision, revision }, null, 2), exitCode };
}
