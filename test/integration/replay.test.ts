// `warden replay` on the log of a real run against a changed bundle: exactly the decisions the
// change touches are listed (from → to, count per reason, example ids); masked inputs are reported
// as not replayable, not replayed.

import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditStory, type AuditRun } from '../helpers/audit-run.js';
import { CLI_TIMEOUT, warden } from '../helpers/cli.js';
import { compilePolicy } from '../helpers/policy.js';

const REGO = resolve(import.meta.dirname, '../../rego');

/** The shipped policy with one edit applied to decision.rego. */
async function candidate(edit: (decisionRego: string) => string): Promise<string> {
  const files: Record<string, string> = {};
  for (const f of readdirSync(REGO)) if (f.endsWith('.rego') && !f.endsWith('_test.rego')) files[f] = readFileSync(join(REGO, f), 'utf8');
  const before = files['decision.rego']!;
  files['decision.rego'] = edit(before);
  if (files['decision.rego'] === before) throw new Error('candidate: the edit changed nothing');
  return compilePolicy(files, { data: JSON.parse(readFileSync(join(REGO, 'data.json'), 'utf8')) });
}

let run: AuditRun;
beforeAll(async () => {
  // The POST bodies' `title` is masked in the log: those two decisions cannot be replayed.
  run = await runAuditStory({ config: { decision_log: { mask: ['input.request.body.title'] } } });
  await run.close();
});
afterAll(async () => {
  await run?.close();
});

describe('warden replay', () => {
  it('lists exactly the decisions a changed policy changes, and exits 1', async () => {
    const bundle = await candidate((rego) => rego.replace('allow("read", "read access") if {', 'deny("reads are frozen") if {'));
    const r = await warden(['replay', '--config', run.w.configFile, '--bundle', bundle, run.w.logFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    // Replayed: the GET, the DELETE step-up and the approved DELETE (the POSTs are masked).
    expect(lines[0]).toMatch(/^replayed 3 decisions under candidate revision \S+: 1 changed, 2 unchanged$/);
    expect(lines[1]).toBe(`  allow(read) → deny  1  reason "reads are frozen"  e.g. ${run.ids.read}`);
    expect(lines[2]).toMatch(/^not replayable: 2 \(masked or truncated input fields\)  e\.g\. /);
    expect(lines[2]).toContain(run.ids.deniedWrite);
    expect(lines[2]).toContain(run.ids.write);
    // The call after revocation never reached the policy.
    expect(lines[3]).toBe('no input: 1 (refused before the policy ran)');
    expect(lines).toHaveLength(4);
  }, CLI_TIMEOUT);

  it('exits 0 when the candidate decides every recorded input the same way', async () => {
    const r = await warden(['replay', '--config', run.w.configFile, '--bundle', run.w.bundle, run.w.logFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^replayed 3 decisions under candidate revision \S+: 0 changed, 3 unchanged\n/);
  }, CLI_TIMEOUT);

  it('replays the approved retry with its recorded approval: a policy that ignores approvals changes it', async () => {
    const bundle = await candidate((rego) => rego.replace('is_object(input.approval)', 'false'));
    const r = await warden(['replay', '--config', run.w.configFile, '--bundle', bundle, run.w.logFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  allow(escalation) → step_up(escalation)  1  reason "destructive call needs approval"  e.g. ${run.ids.approved}\n`);
  }, CLI_TIMEOUT);
});
