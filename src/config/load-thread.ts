// The worker of load-isolated.ts: reads and validates the configuration file and posts the result
// (or the coded error) back; the thread, and with it YAML, TypeBox and the schema, then ends.

import { parentPort, workerData } from 'node:worker_threads';
import { describeThrown, isWardenError } from '../errors.js';
import { readConfigFile, type ConfigOverrides } from './load.js';

/** What the thread answers: the configuration, or its error's code and detail. */
export type LoadAnswer =
  | { readonly ok: true; readonly config: unknown; readonly baseDir: string }
  | { readonly ok: false; readonly code: string | undefined; readonly detail: string };

const { file, overrides } = workerData as { file: string; overrides: ConfigOverrides };
let answer: LoadAnswer;
try {
  answer = { ok: true, ...readConfigFile(file, overrides) };
} catch (err) {
  answer = isWardenError(err) ? { ok: false, code: err.code, detail: err.detail ?? '' } : { ok: false, code: undefined, detail: (err as Error)?.stack ?? describeThrown(err) };
}
parentPort!.postMessage(answer);
