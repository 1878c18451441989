// The step-up flow returns what happened to the request, on a real manager, SQLite store and
// wake-up channel; the pipeline answers it (test/integration/step-up.test.ts end to end).

import { describe, expect, it, onTestFinished } from 'vitest';
import { bindingDigest } from '../../../src/stepup/binding.js';
import { runStepUp, type StepUpCall } from '../../../src/stepup/flow.js';
import { stepUpGate, type StepUpGate } from '../../../src/stepup/gate.js';
import { StepUpManager } from '../../../src/stepup/manager.js';
import { openSqliteStores } from '../../../src/store/sqlite/open.js';
import type { StepUpDecision } from '../../../src/policy/types.js';
import { httpBinding, summaryOf, tempStateDir } from './fixtures.js';

function setup(): { manager: StepUpManager; gate: StepUpGate } {
  const stores = openSqliteStores(tempStateDir());
  const manager = new StepUpManager({ ttl: 60_000, body_preview_bytes: 0 }, stores.approvals, undefined, undefined, { events: stores.approvalEvents });
  onTestFinished(async () => {
    await manager.close();
    await stores.close();
  });
  return { manager, gate: stepUpGate(manager) };
}

const decision: StepUpDecision = { decision: 'step_up', reason: 'merge to main', risk: 'high', approvers: ['release'], headers: {} };

function call(signal: AbortSignal = new AbortController().signal, path = '/repos/acme/app/merges'): StepUpCall {
  const binding = httpBinding({ path });
  return { binding, digest: undefined, decisionId: 'dec-1', summary: () => summaryOf(binding), detail: () => ({}), notAfter: undefined, signal: () => signal };
}

/** Resolves with the id of the first approval that becomes pending. */
async function pendingId(manager: StepUpManager): Promise<string> {
  for (;;) {
    const [a] = await manager.list('pending');
    if (a) return a.id;
    await new Promise((r) => setImmediate(r));
  }
}

describe('runStepUp', () => {
  it('without a hold: the approval is requested and the request is told to come back', async () => {
    const { manager, gate } = setup();
    const r = await runStepUp(gate, call(), decision, 0);
    const [a] = await manager.list('pending');
    expect(r).toEqual({ kind: 'pending', approvalId: a!.id, expiresAt: new Date(a!.expires_at).toISOString() });
    expect(a).toMatchObject({ reason: 'merge to main', risk: 'high', approvers: ['release'], decision_id: 'dec-1', path: '/repos/acme/app/merges' });
    // The identical call joins the same approval.
    expect(await runStepUp(gate, call(), decision, 0)).toEqual(r);
  });

  it('held: an approval while waiting is granted with input.approval', async () => {
    const { manager, gate } = setup();
    const result = runStepUp(gate, call(), decision, 60_000);
    const id = await pendingId(manager);
    await manager.approve(id, 'alice', 'ok');
    const r = await result;
    expect(r).toEqual({ kind: 'granted', approvalId: id, grant: { id, approver: 'alice', approved_at: expect.stringMatching(/^\d{4}-/) } });
  });

  it('held: a denial while waiting is denied with the approver\'s reason, and the identical call stays denied', async () => {
    const { manager, gate } = setup();
    const result = runStepUp(gate, call(), decision, 60_000);
    const id = await pendingId(manager);
    await manager.deny(id, 'bob', 'not today');
    expect(await result).toEqual({ kind: 'denied', approvalId: id, reason: 'not today' });
    expect(await runStepUp(gate, call(), decision, 60_000)).toEqual({ kind: 'denied', approvalId: id, reason: 'not today' });
  });

  it('held: a grant spent by another request meanwhile is spent', async () => {
    const { manager, gate } = setup();
    // Another identical request, woken by the same approval, spends the grant first.
    const spentFirst: StepUpGate = { ...gate, wait: async (id, ms, signal) => {
      const woken = await gate.wait(id, ms, signal);
      expect(await manager.consume(id)).toBe(true);
      return woken;
    } };
    const result = runStepUp(spentFirst, call(), decision, 60_000);
    const id = await pendingId(manager);
    await manager.approve(id, 'alice');
    expect(await result).toEqual({ kind: 'spent', approvalId: id });
  });

  it('held: the client leaving is client_gone and the approval stays pending', async () => {
    const { manager, gate } = setup();
    const ac = new AbortController();
    const result = runStepUp(gate, call(ac.signal), decision, 60_000);
    const id = await pendingId(manager);
    ac.abort();
    expect(await result).toEqual({ kind: 'client_gone', approvalId: id });
    expect((await manager.get(id))!.status).toBe('pending');
  });

  it('held: a manager closing is shutting_down, not client_gone', async () => {
    const { manager, gate } = setup();
    const result = runStepUp(gate, call(), decision, 60_000);
    const id = await pendingId(manager);
    await manager.close();
    expect(await result).toEqual({ kind: 'shutting_down', approvalId: id });
  });

  it('uses the digest the caller computed', async () => {
    const { manager, gate } = setup();
    const c = call();
    const r = await runStepUp(gate, { ...c, digest: bindingDigest(c.binding) }, decision, 0);
    expect((await manager.get(r.approvalId))!.binding_digest).toBe(bindingDigest(c.binding));
  });
});
