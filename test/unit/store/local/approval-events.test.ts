import { describe, expect, it } from 'vitest';
import type { ApprovalSettlement } from '../../../../src/store/approvals.js';
import { LocalApprovalEvents } from '../../../../src/store/local/approval-events.js';

describe('LocalApprovalEvents', () => {
  it('delivers each publish to every subscriber at once, until it unsubscribes or the channel closes', () => {
    const ch = new LocalApprovalEvents();
    const a: [string, ApprovalSettlement][] = [];
    const b: [string, ApprovalSettlement][] = [];
    const offA = ch.subscribe((id, r) => a.push([id, r]));
    ch.subscribe((id, r) => b.push([id, r]));
    ch.publish('x', 'approved');
    expect(a).toEqual([['x', 'approved']]);
    expect(b).toEqual([['x', 'approved']]);
    offA();
    ch.publish('y', 'denied');
    expect(a).toEqual([['x', 'approved']]);
    expect(b).toEqual([['x', 'approved'], ['y', 'denied']]);
    ch.close();
    ch.publish('z', 'expired');
    expect(b).toHaveLength(2);
  });

  it('lets a subscriber unsubscribe while being called without skipping the others', () => {
    const ch = new LocalApprovalEvents();
    const seen: string[] = [];
    const off = ch.subscribe(() => {
      seen.push('first');
      off();
    });
    ch.subscribe(() => seen.push('second'));
    ch.publish('x', 'expired');
    ch.publish('x', 'expired');
    expect(seen).toEqual(['first', 'second', 'second']);
  });
});
