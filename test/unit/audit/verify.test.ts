// The hash chain and signed checkpoints on the decision log of a real Warden run: every kind of
// tampering is named at its line; a rechained log passes the chain alone but not the key.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitChained } from '../../../src/audit/chain.js';
import { checkpointVerifyKey } from '../../../src/audit/checkpoint.js';
import { ChainVerifier, type VerifyOptions, type VerifyResult } from '../../../src/audit/verify.js';
import { checkpointKeys, indexWhere, logLines, rechain } from '../../helpers/audit-log.js';
import { runAuditStory, type AuditRun } from '../../helpers/audit-run.js';
import { tempDir } from '../../helpers/warden.js';

let run: AuditRun;
let lines: string[];
let keys: { privateKey: string; publicKey: string };

beforeAll(async () => {
  const dir = tempDir();
  keys = checkpointKeys(dir);
  run = await runAuditStory({ dir, config: { decision_log: { checkpoints: { every: 4, interval: '10s', key: `\${file:${keys.privateKey}}` } } } });
  await run.close();
  lines = logLines(run.w.logFile);
});
afterAll(async () => {
  await run?.close();
});

function verify(ls: readonly string[], opts: VerifyOptions = {}): VerifyResult {
  const v = new ChainVerifier(opts);
  ls.every((l, i) => v.push('decisions.log', i + 1, l));
  return v.finish();
}

const key = () => checkpointVerifyKey(readFileSync(keys.publicKey, 'utf8'));
/** The line index of the first allowed write (a decision in the middle of the log). */
const mid = () => indexWhere(lines, (l) => l.type === 'decision' && l.lane === 'write');

describe('the chain of a real log', () => {
  it('links every line, decisions, events and checkpoints, from seq 0', () => {
    lines.forEach((l, i) => expect(splitChained(l)?.link.seq).toBe(i));
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.some((l) => l.type === 'event' && l.event === 'task.created')).toBe(true);
    expect(parsed.filter((l) => l.type === 'checkpoint').map((l) => l.reason)).toEqual(expect.arrayContaining(['start', 'every', 'close']));
    expect(parsed.at(-1)).toMatchObject({ type: 'checkpoint', reason: 'close' });
    expect(verify(lines)).toMatchObject({ ok: true, lines: lines.length, first_seq: 0, last_seq: lines.length - 1 });
    expect(verify(lines, { key: key() })).toMatchObject({ ok: true, checkpoints: parsed.filter((l) => l.type === 'checkpoint').length });
  });

  it('names an edited line', () => {
    const i = mid();
    const edited = [...lines];
    edited[i] = edited[i]!.replace('"outcome":"allow"', '"outcome":"deny"');
    expect(verify(edited).problem).toMatchObject({ line: i + 1, seq: i, message: expect.stringMatching(/^edited/) });
  });

  it('names the line after a removed one', () => {
    const i = mid();
    const removed = lines.filter((_, j) => j !== i);
    expect(verify(removed).problem).toMatchObject({ line: i + 1, seq: i + 1, message: expect.stringMatching(/a line was removed/) });
  });

  it('names reordered lines', () => {
    const i = mid();
    const swapped = [...lines];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    expect(verify(swapped).problem).toMatchObject({ line: i + 1, seq: i + 1 });
  });

  it('names an inserted line, forged or copied', () => {
    const i = mid();
    const forged = [...lines.slice(0, i), JSON.stringify({ type: 'decision', outcome: 'allow' }), ...lines.slice(i)];
    expect(verify(forged).problem).toMatchObject({ line: i + 1, message: expect.stringMatching(/no chain field/) });
    const copied = [...lines.slice(0, i), lines[i - 2]!, ...lines.slice(i)];
    expect(verify(copied).problem).toMatchObject({ line: i + 1, seq: i - 2, message: expect.stringMatching(/moved here from earlier, or duplicated/) });
  });

  it('names a line cut short', () => {
    const i = mid();
    const torn = [...lines];
    torn[i] = torn[i]!.slice(0, 40);
    expect(verify(torn).problem).toMatchObject({ line: i + 1 });
  });

  it('finds a removed head unless told the log continues an earlier file', () => {
    expect(verify(lines.slice(3)).problem).toMatchObject({ line: 1, seq: 3, message: expect.stringMatching(/starts at seq 3/) });
    expect(verify(lines.slice(3), { partial: true }).ok).toBe(true);
  });

  it('finds a cut tail only with the checkpoint key', () => {
    const cut = lines.slice(0, -3);
    expect(verify(cut).ok).toBe(true); // a chain alone cannot know its end
    const r = verify(cut, { key: key(), now: () => Date.now() + 60_000 });
    expect(r.ok).toBe(false);
    expect(r.problem!.message).toMatch(/tail after it was cut|a checkpoint was removed/);
  });

  it('finds a log rewritten with a recomputed chain only with the checkpoint key', () => {
    const i = mid();
    const rewritten = rechain(lines.filter((_, j) => j !== i));
    expect(verify(rewritten).ok).toBe(true);
    const r = verify(rewritten, { key: key() });
    expect(r.problem?.message).toMatch(/does not match the chain|signature is not valid/);
    expect(r.problem!.line).toBeGreaterThanOrEqual(i);
  });

  it('refuses a forged checkpoint and a log without any', () => {
    const other = checkpointKeys(tempDir());
    const forgedKey = checkpointVerifyKey(readFileSync(other.publicKey, 'utf8'));
    expect(verify(lines, { key: forgedKey }).problem?.message).toMatch(/signature is not valid/);
    const withoutCheckpoints = rechain(lines.filter((l) => !l.includes('"type":"checkpoint"')));
    expect(verify(withoutCheckpoints, { key: key() }).problem?.message).toMatch(/no signed checkpoint/);
  });
});
