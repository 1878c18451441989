// `warden audit verify` and `warden audit trace` (DESIGN.md "Command line").

import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkpointVerifyKey } from '../audit/checkpoint.js';
import { buildTimeline, describeEntry } from '../audit/timeline.js';
import { renderTimelineHtml } from '../audit/timeline-html.js';
import { ChainVerifier, type VerifyResult } from '../audit/verify.js';
import { WardenError } from '../errors.js';

export interface CommandOutput {
  output: string;
  exitCode: number;
}

/** Every line of `files` in order, with its file and 1-based number; the last newline ends the last line. */
export async function* readLogLines(files: readonly string[]): AsyncGenerator<{ file: string; line: number; text: string }> {
  for (const file of files) {
    const stream = createReadStream(file, { encoding: 'utf8' });
    const done = new Promise<void>((resolve, reject) => {
      stream.once('error', (err) => reject(new WardenError('ADMIN_BAD_REQUEST', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err })));
      stream.once('close', () => resolve());
    });
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let line = 0;
    for await (const text of rl) yield { file, line: ++line, text };
    await done;
  }
}

export async function verifyCommand(files: readonly string[], opts: { key?: string; partial?: boolean }): Promise<CommandOutput> {
  let key;
  if (opts.key !== undefined) {
    try {
      key = checkpointVerifyKey(readFileSync(opts.key, 'utf8'));
    } catch (err) {
      throw new WardenError('ADMIN_BAD_REQUEST', `--key: not an Ed25519 PEM key (${(err as Error).message})`, { cause: err });
    }
  }
  const verifier = new ChainVerifier({ ...(key && { key }), ...(opts.partial && { partial: true }) });
  for await (const l of readLogLines(files)) if (!verifier.push(l.file, l.line, l.text)) break;
  const r = verifier.finish();
  return { output: describeVerify(r, key !== undefined), exitCode: r.ok ? 0 : 1 };
}

function describeVerify(r: VerifyResult, keyed: boolean): string {
  if (r.problem) {
    const where = r.problem.file ? `${r.problem.file}:${r.problem.line}${r.problem.seq !== undefined ? ` (seq ${r.problem.seq})` : ''}` : 'log';
    return `BROKEN ${where}: ${r.problem.message}`;
  }
  const span = r.first_seq === undefined ? 'no lines' : `seq ${r.first_seq}..${r.last_seq}`;
  return `intact: ${r.lines} lines (${span})${keyed ? `, ${r.checkpoints} signed checkpoints valid` : ', checkpoints not checked (no --key)'}`;
}

export type TraceFormat = 'text' | 'json' | 'html';

export async function traceCommand(files: readonly string[], taskId: string, format: TraceFormat): Promise<CommandOutput> {
  const lines: string[] = [];
  for await (const l of readLogLines(files)) if (l.text.includes(taskId)) lines.push(l.text);
  const t = buildTimeline(lines, taskId);
  const found = t.entries.length > 0;
  switch (format) {
    case 'json':
      return { output: JSON.stringify(t, null, 2), exitCode: found ? 0 : 1 };
    case 'html':
      return { output: renderTimelineHtml(t), exitCode: found ? 0 : 1 };
    case 'text': {
      if (!found) return { output: `no line of task ${taskId} in ${files.join(', ')}`, exitCode: 1 };
      const head = `task ${t.task_id} agent=${t.agent ?? '?'} user=${t.user ?? '?'} calls: ${Object.entries(t.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`;
      const approvals = t.approvals.map((a) => `approval ${a.id}: ${a.status}${a.approver ? ` by ${a.approver}` : ''}${a.decided_at ? ` at ${a.decided_at}` : ''}${a.call ? ` for ${[a.call.method, a.call.upstream && `${a.call.upstream}${a.call.path ?? ''}`, a.call.tool].filter(Boolean).join(' ')}` : ''}${a.used_by ? `, used by ${a.used_by}` : ''}`);
      return { output: [head, ...t.entries.map((e) => `${e.at}  ${describeEntry(e)}`), ...approvals].join('\n'), exitCode: 0 };
    }
  }
}
