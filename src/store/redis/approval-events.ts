// The wake-up channel across a fleet: a settlement published by any process (the control plane's
// admin API, a webhook answer, an expiry sweep) wakes the requests held for it on every sidecar.

import type { ApprovalEvents, ApprovalSettlement } from '../approvals.js';
import type { RedisLink } from './link.js';

type Listener = (approvalId: string, result: ApprovalSettlement) => void;

export class RedisApprovalEvents implements ApprovalEvents {
  readonly #link: RedisLink;
  readonly #listeners = new Set<Listener>();
  readonly #off: () => void;

  constructor(link: RedisLink) {
    this.#link = link;
    this.#off = link.onMessage((m) => {
      if (m.t !== 'approval') return;
      for (const l of [...this.#listeners]) l(m.id, m.result);
    });
  }

  async publish(approvalId: string, result: ApprovalSettlement): Promise<void> {
    await this.#link.publish({ t: 'approval', id: approvalId, result });
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#off();
    this.#listeners.clear();
  }
}
