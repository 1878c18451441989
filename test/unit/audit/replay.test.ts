// Policy replay's bookkeeping over decision-log lines, with the candidate given as a function of
// the input (the CLI runs a real compiled policy: test/integration/replay.test.ts): which lines
// are replayed, which are not and why, how changes are grouped and labelled, the five-example cap,
// and the report's text.

import { describe, expect, it } from 'vitest';
import { TRUNCATED } from '../../../src/audit/decision-log.js';
import { REDACTED } from '../../../src/audit/mask.js';
import { describeReplay, replay, type ReplayDecision } from '../../../src/audit/replay.js';
import { WardenError } from '../../../src/errors.js';

const line = (id: string, input: unknown, result: ReplayDecision | undefined, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'decision', decision_id: id, ...(input !== undefined && { input }), ...(result && { result }), ...extra });

/** The candidate: denies DELETE, moves POST to the write lane, throws on PATCH, else allows on read. */
function candidate(inputJson: string): ReplayDecision {
  const method = (JSON.parse(inputJson) as { request: { method: string } }).request.method;
  if (method === 'DELETE') return { decision: 'deny', reason: 'no deletes' };
  if (method === 'POST') return { decision: 'allow', lane: 'write' };
  if (method === 'PATCH') throw new WardenError('POLICY_EVAL_FAILED', 'boom');
  if (method === 'PUT') throw new Error('plain');
  return { decision: 'allow', lane: 'read' };
}

const req = (method: string, extra: Record<string, unknown> = {}) => ({ request: { method, path: '/x', ...extra } });

describe('replay', () => {
  it('groups changes by from → to and reason, most frequent first, with at most five examples', () => {
    const lines = [
      ...Array.from({ length: 7 }, (_, i) => line(`del-${i}`, req('DELETE'), { decision: 'allow', lane: 'write' })),
      line('post-1', req('POST'), { decision: 'allow', lane: 'read' }),
      line('get-1', req('GET'), { decision: 'allow', lane: 'read' }),
      line('get-2', req('GET'), { decision: 'deny', reason: 'plan stage' }),
    ];
    const r = replay(lines, candidate);
    expect(r).toEqual({
      replayed: 10,
      unchanged: 1,
      changed_total: 9,
      changed: [
        { from: 'allow(write)', to: 'deny', reason: 'no deletes', count: 7, examples: ['del-0', 'del-1', 'del-2', 'del-3', 'del-4'] },
        { from: 'allow(read)', to: 'allow(write)', reason: '', count: 1, examples: ['post-1'] },
        { from: 'deny', to: 'allow(read)', reason: '', count: 1, examples: ['get-2'] },
      ],
      not_replayable: { count: 0, examples: [] },
      no_input: 0,
    });
  });

  it('does not replay an input with a masked or truncated field, however deep, and counts lines refused before the policy', () => {
    const lines = [
      line('masked', req('GET', { headers: { authorization: REDACTED } }), { decision: 'allow', lane: 'read' }),
      line('cut', { request: { method: 'POST', body: { items: [{ text: TRUNCATED }] } } }, { decision: 'allow', lane: 'write' }),
      line('refused', undefined, undefined, { error: 'TOKEN_INVALID' }),
      line('no-result', req('GET'), undefined),
      line('ok', req('GET'), { decision: 'allow', lane: 'read' }),
    ];
    expect(replay(lines, candidate)).toMatchObject({ replayed: 1, unchanged: 1, not_replayable: { count: 2, examples: ['masked', 'cut'] }, no_input: 2 });
  });

  it('skips what is not a decision line: events, other JSON, broken lines', () => {
    const lines = [
      JSON.stringify({ type: 'event', event: 'task.created', note: '"type":"decision"' }),
      '{"type":"decision", broken',
      '',
      line('ok', req('GET'), { decision: 'allow', lane: 'read' }),
    ];
    expect(replay(lines, candidate)).toMatchObject({ replayed: 1, unchanged: 1, changed_total: 0, no_input: 0 });
  });

  it('reports a candidate that fails as the decision "error", with its code as the reason', () => {
    const r = replay([line('p', req('PATCH'), { decision: 'allow', lane: 'write' }), line('u', req('PUT'), { decision: 'allow', lane: 'write' })], candidate);
    expect(r.changed).toEqual([
      { from: 'allow(write)', to: 'error', reason: 'POLICY_EVAL_FAILED', count: 1, examples: ['p'] },
      { from: 'allow(write)', to: 'error', reason: 'evaluation failed', count: 1, examples: ['u'] },
    ]);
  });
});

describe('describeReplay', () => {
  it('says what changed, what could not be replayed and what had no input, one line each', () => {
    const r = replay(
      [
        line('d1', req('DELETE'), { decision: 'allow', lane: 'write' }),
        line('m1', req('GET', { q: REDACTED }), { decision: 'allow', lane: 'read' }),
        line('n1', undefined, undefined),
        line('g1', req('GET'), { decision: 'allow', lane: 'read' }),
      ],
      candidate,
    );
    expect(describeReplay(r, { candidate: 'rev-2' })).toBe(
      [
        'replayed 2 decisions under candidate revision rev-2: 1 changed, 1 unchanged',
        '  allow(write) → deny  1  reason "no deletes"  e.g. d1',
        'not replayable: 1 (masked or truncated input fields)  e.g. m1',
        'no input: 1 (refused before the policy ran)',
      ].join('\n'),
    );
    expect(describeReplay(replay([], candidate), { candidate: 'rev-2' })).toBe('replayed 0 decisions under candidate revision rev-2: 0 changed, 0 unchanged');
  });
});
