// Runs the `warden` command line in a child process and returns its exit code and output.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { wardenArgv } from './warden.js';

const run = promisify(execFile);

/** For a test that starts the command line several times: each start compiles with tsx (seconds on a busy machine). */
export const CLI_TIMEOUT = 120_000;

export async function warden(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, wardenArgv(args), { env: process.env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
