import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainHash, splitChained } from '../../../src/audit/chain.js';
import { DecisionLog, TRUNCATED } from '../../../src/audit/decision-log.js';
import { ChainVerifier } from '../../../src/audit/verify.js';
import { until } from '../../helpers/wait.js';

function lines(file: string): Record<string, any>[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('DecisionLog', () => {
  it('writes OPA field names, masks paths and truncates large bodies', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dlog-')), 'd.log');
    const log = new DecisionLog({ path: file, mask: ['input.request.body.password'], maxBodyBytes: 10 });
    const base = { decision_id: 'd1', path: 'warden/decision', outcome: 'allow' as const, status: 200, duration_ms: 1, revision: 'r1', eval_ns: 1234 };
    log.decision({ ...base, input: { request: { size: 5, body: { password: 'hunter2', user: 'u' } } } });
    log.decision({ ...base, decision_id: 'd2', input: { request: { size: 11, body: { password: 'hunter2', blob: 'x'.repeat(11) } } } });
    log.event('task.created', { task_id: 't' });
    await log.close();
    const [a, b, c] = lines(file);
    expect(a).toMatchObject({ type: 'decision', decision_id: 'd1', path: 'warden/decision', bundles: { warden: { revision: 'r1' } }, metrics: { timer_rego_eval_ns: 1234 }, input: { request: { body: { password: '**REDACTED**', user: 'u' } } } });
    expect(a!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(a).not.toHaveProperty('time');
    expect(b!.input.request.body).toBe(TRUNCATED);
    expect(JSON.stringify([a, b])).not.toContain('hunter2');
    expect(c).toMatchObject({ type: 'event', event: 'task.created', task_id: 't' });
  });
});

describe('DecisionLog write window', () => {
  const base = { path: 'warden/decision', outcome: 'allow' as const, status: 200, duration_ms: 1 };
  const size = (file: string): number => readFileSync(file, 'utf8').length;

  it('appends the lines of a few milliseconds together, soon after the first, in order', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dlog-')), 'd.log');
    const log = new DecisionLog({ path: file, mask: [], maxBodyBytes: 10 });
    for (let i = 0; i < 3; i++) log.decision({ ...base, decision_id: `d${i}` });
    // Held for the write window, not written line by line.
    expect(size(file)).toBe(0);
    const t0 = Date.now();
    await until(() => size(file) > 0);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(lines(file).map((l) => l.decision_id)).toEqual(['d0', 'd1', 'd2']);
    await log.close();
  });

  it('writes at once what passes 256 KiB, without waiting for the window', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dlog-')), 'd.log');
    const log = new DecisionLog({ path: file, mask: [], maxBodyBytes: 1e9 });
    const input = { request: { size: 10, body: 'x'.repeat(10 * 1024) } };
    for (let i = 0; i < 30; i++) log.decision({ ...base, decision_id: `d${i}`, input });
    // Synchronously: every line up to the one that crossed 256 KiB is in the file already.
    const written = lines(file);
    expect(written.length).toBeGreaterThanOrEqual(25);
    expect(written.map((l) => l.decision_id)).toEqual(Array.from({ length: written.length }, (_, i) => `d${i}`));
    await log.close();
    expect(lines(file)).toHaveLength(30);
  });
});

describe('DecisionLog encoding', () => {
  const base = { path: 'warden/decision', outcome: 'allow' as const, status: 200, duration_ms: 1 };

  it('hashes the UTF-8 bytes it writes: multibyte text, a lone surrogate and a line larger than its buffers verify', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dlog-')), 'd.log');
    const log = new DecisionLog({ path: file, mask: [], maxBodyBytes: 1e9 });
    const texts = ['café', '日本語', 'emoji 😀', 'lone \ud800 surrogate', 'x'.repeat(3 * 1024 * 1024) + 'é'];
    texts.forEach((text, i) => log.decision({ ...base, decision_id: `d${i}`, input: { request: { size: text.length, body: { text } } } }));
    log.event('task.created', { task_id: 't' });
    await log.close();
    const raw = readFileSync(file, 'utf8').split('\n').slice(0, -1);
    expect(raw).toHaveLength(texts.length + 1);
    // Each line's hash is SHA-256 of the previous hash and the line's text as read back.
    let prev = '0'.repeat(64);
    for (const line of raw) {
      const split = splitChained(line)!;
      expect(split.link.prev).toBe(prev);
      expect(split.link.hash).toBe(chainHash(prev, split.body));
      prev = split.link.hash;
    }
    const v = new ChainVerifier({});
    raw.forEach((l, i) => v.push('d.log', i + 1, l));
    expect(v.finish()).toMatchObject({ ok: true, lines: texts.length + 1 });
    // The text arrives as it was logged (JSON.stringify escapes a lone surrogate).
    expect(raw.map((l) => (JSON.parse(l) as { input?: { request: { body: { text: string } } } }).input?.request.body.text)).toEqual([...texts, undefined]);
  });
});

describe('DecisionLog on a full disk', () => {
  it('reports the failed write instead of crashing the process', async () => {
    const errors: unknown[] = [];
    const log = new DecisionLog({ path: '/dev/full', mask: [], maxBodyBytes: 10, onError: (err) => errors.push(err) });
    log.decision({ decision_id: 'd1', path: 'warden/decision', outcome: 'allow', status: 200, duration_ms: 1 });
    log.flush();
    await until(() => errors.length > 0);
    expect(String((errors[0] as { code?: string }).code)).toBe('ENOSPC');
  });

  it('keeps what it could not write and writes it first once the log can be written again', async () => {
    const errors: unknown[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'dlog-'));
    const link = join(dir, 'd.log');
    symlinkSync('/dev/full', link);
    const log = new DecisionLog({ path: link, mask: [], maxBodyBytes: 10, onError: (err) => errors.push(err) });
    const base = { path: 'warden/decision', outcome: 'allow' as const, status: 200, duration_ms: 1 };
    log.decision({ ...base, decision_id: 'd1' });
    log.flush();
    expect(errors).toHaveLength(1);
    // The disk has room again (here: the path now names a file), and the log is reopened.
    unlinkSync(link);
    writeFileSync(join(dir, 'real.log'), '');
    symlinkSync(join(dir, 'real.log'), link);
    log.reopen();
    log.decision({ ...base, decision_id: 'd2' });
    await log.close();
    const written = lines(join(dir, 'real.log'));
    expect(written.map((l) => [l.decision_id, l.chain.seq])).toEqual([['d1', 0], ['d2', 1]]);
  });
});

describe('DecisionLog after close()', () => {
  it('reports a line it can no longer write and keeps nothing of it', async () => {
    const errors: unknown[] = [];
    const file = join(mkdtempSync(join(tmpdir(), 'dlog-')), 'd.log');
    const log = new DecisionLog({ path: file, mask: [], maxBodyBytes: 10, onError: (err) => errors.push(err) });
    await log.close();
    const closed = readFileSync(file, 'utf8');
    log.event('task.expired', { task_id: 't' });
    log.flush();
    log.flush();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('decision log closed');
    expect(readFileSync(file, 'utf8')).toBe(closed);
  });
});

describe('DecisionLog chain and checkpoints', () => {
  it('writes an interval checkpoint while idle, and continues one chain into the reopened file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlog-'));
    const file = join(dir, 'd.log');
    const { privateKey } = generateKeyPairSync('ed25519');
    const log = new DecisionLog({ path: file, mask: [], maxBodyBytes: 10, checkpoints: { every: 1000, intervalMs: 100, key: privateKey } });
    log.event('task.created', { task_id: 't' });
    // Nothing else is written: the interval checkpoint must reach the file on its own.
    for (let i = 0; i < 200 && !readFileSync(file, 'utf8').includes('"reason":"interval"'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(lines(file).map((l) => l.reason ?? l.event)).toEqual(expect.arrayContaining(['start', 'task.created', 'interval']));
    renameSync(file, `${file}.1`);
    log.reopen();
    log.event('task.revoked', { task_id: 't' });
    await log.close();
    const old = lines(`${file}.1`);
    const now = lines(file);
    expect(old.at(-1)).toMatchObject({ type: 'checkpoint', reason: 'rotate' });
    expect(now[0]).toMatchObject({ event: 'task.revoked', chain: { seq: old.at(-1)!.chain.seq + 1, prev: old.at(-1)!.chain.hash } });
    expect(now.at(-1)).toMatchObject({ type: 'checkpoint', reason: 'close' });
  });
});
