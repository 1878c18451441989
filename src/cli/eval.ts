// `warden eval`: one decision for one input, printed as JSON.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { WardenError } from '../errors.js';
import { PolicyEngine } from '../policy/engine.js';
import { timeInput, type PolicyInput } from '../policy/types.js';

export async function evalCommand(configFile: string, inputFile: string): Promise<{ output: string; exitCode: number }> {
  const { config, baseDir } = loadConfigFile(configFile);
  const engine = new PolicyEngine({ entrypoint: config.policy.entrypoint, maxMemoryPages: config.policy.max_memory_pages });
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
