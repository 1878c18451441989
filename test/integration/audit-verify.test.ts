// `warden audit verify` on logs of real Warden runs: a restart continues the chain in the same
// file, logrotate's rename + SIGHUP / SIGUSR2 continues it in a new file, and the checkpoint key
// finds what the chain alone cannot.

import { existsSync, readFileSync, renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitChained } from '../../src/audit/chain.js';
import { checkpointKeys, indexWhere, logLines, writeLines } from '../helpers/audit-log.js';
import { auditUpstreams } from '../helpers/audit-run.js';
import { CLI_TIMEOUT, warden } from '../helpers/cli.js';
import { startUpstream } from '../helpers/upstream.js';
import { startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';

const seqs = (file: string): number[] => logLines(file).map((l) => splitChained(l)!.link.seq);

async function someCalls(w: WardenHandle): Promise<void> {
  const t = await w.task({ user: { id: 'dana', roles: ['maintainer'] }, stage: 'execute', risk: 'low', scopes: ['github:write'] });
  for (const method of ['GET', 'POST']) {
    const res = await fetch(`${w.proxyUrl}/github/repos/acme/app/issues`, { method, headers: { authorization: `Bearer ${t.token}` } });
    await res.arrayBuffer();
  }
}

/** Waits until `file` holds a line that satisfies `pred` (a child Warden writes on its own time). */
async function waitForLine(file: string, pred: (l: Record<string, any>) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').split('\n').some((l) => l.endsWith('}') && pred(JSON.parse(l)))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no such line in ${file}`);
}

describe('warden audit verify', () => {
  it('a restarted Warden continues the chain of its log file', async () => {
    const gh = await startUpstream();
    const dir = tempDir();
    const first = await startWarden({ dir, upstreams: auditUpstreams(gh.url) });
    await someCalls(first);
    await first.close();
    const before = seqs(first.logFile).length;
    const second = await startWarden({ dir, upstreams: auditUpstreams(gh.url) });
    await someCalls(second);
    await second.close();
    await gh.close();
    const all = seqs(second.logFile);
    expect(all.length).toBeGreaterThan(before);
    expect(all).toEqual(all.map((_, i) => i));
    const r = await warden(['audit', 'verify', second.logFile]);
    expect(r.stdout).toMatch(/^intact: \d+ lines \(seq 0\.\.\d+\), checkpoints not checked/);
    expect(r.code).toBe(0);
  }, CLI_TIMEOUT);

  it('rotation by rename + SIGHUP and SIGUSR2 keeps one chain across the files, checkpoints included', async () => {
    const gh = await startUpstream();
    const dir = tempDir();
    const keys = checkpointKeys(dir);
    const w = await startWarden({ dir, child: true, upstreams: auditUpstreams(gh.url), config: { decision_log: { checkpoints: { every: 3, interval: '10s', key: `\${file:${keys.privateKey}}` } } } });
    try {
      await someCalls(w);
      await waitForLine(w.logFile, (l) => l.type === 'decision' && l.method === 'POST');
      renameSync(w.logFile, `${w.logFile}.2`);
      w.child!.kill('SIGHUP');
      await waitForLine(`${w.logFile}.2`, (l) => l.type === 'checkpoint' && l.reason === 'rotate');
      await someCalls(w);
      await waitForLine(w.logFile, (l) => l.type === 'decision' && l.method === 'POST');
      renameSync(w.logFile, `${w.logFile}.1`);
      w.child!.kill('SIGUSR2');
      await waitForLine(`${w.logFile}.1`, (l) => l.type === 'checkpoint' && l.reason === 'rotate');
      await someCalls(w);
    } finally {
      await w.close();
      await gh.close();
    }
    const files = [`${w.logFile}.2`, `${w.logFile}.1`, w.logFile];
    const all = files.flatMap(seqs);
    expect(all).toEqual(all.map((_, i) => i));
    expect(seqs(w.logFile)[0]).toBe(seqs(`${w.logFile}.2`).length + seqs(`${w.logFile}.1`).length);

    const ok = await warden(['audit', 'verify', '--key', keys.publicKey, ...files]);
    expect(ok.stdout).toMatch(/^intact: \d+ lines .*signed checkpoints valid/);
    expect(ok.code).toBe(0);

    // The current file alone starts mid-chain: named, unless --partial says so.
    const alone = await warden(['audit', 'verify', w.logFile]);
    expect(alone.code).toBe(1);
    expect(alone.stdout).toMatch(/^BROKEN .*decisions\.log:1 \(seq \d+\): the chain starts at seq/);
    expect((await warden(['audit', 'verify', '--partial', w.logFile])).code).toBe(0);

    // A line deleted from the middle file is named there.
    const middle = logLines(files[1]!);
    const i = indexWhere(middle, (l) => l.type === 'decision');
    writeLines(files[1]!, middle.filter((_, j) => j !== i));
    const broken = await warden(['audit', 'verify', '--key', keys.publicKey, ...files]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`BROKEN ${files[1]}:${i + 1} `);
    expect(broken.stdout).toMatch(/a line was removed/);
  }, CLI_TIMEOUT);

  it('a tail cut from a closed log is found with the key', async () => {
    const gh = await startUpstream();
    const dir = tempDir();
    const keys = checkpointKeys(dir);
    const w = await startWarden({ dir, upstreams: auditUpstreams(gh.url), config: { decision_log: { checkpoints: { every: 100, interval: '100ms', key: `\${file:${keys.privateKey}}` } } } });
    await someCalls(w);
    await w.close();
    await gh.close();
    const lines = logLines(w.logFile);
    // Cut after the last decision or event line: a chain-valid prefix without the closing checkpoint.
    const last = lines.reduce((at, l, i) => (l.includes('"type":"checkpoint"') ? at : i), -1);
    writeLines(w.logFile, lines.slice(0, last + 1));
    expect((await warden(['audit', 'verify', w.logFile])).code).toBe(0);
    const r = await warden(['audit', 'verify', '--key', keys.publicKey, w.logFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/the log ends without a closing checkpoint/);
  }, CLI_TIMEOUT);
});
