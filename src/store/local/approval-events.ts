// The wake-up channel within one process: publish calls every subscriber at once. Enough while
// one process owns the state_dir (SQLite); a fleet needs a channel that crosses processes.

import type { ApprovalEvents, ApprovalSettlement } from '../approvals.js';

type Listener = (approvalId: string, result: ApprovalSettlement) => void;

export class LocalApprovalEvents implements ApprovalEvents {
  readonly #listeners = new Set<Listener>();

  publish(approvalId: string, result: ApprovalSettlement): void {
    for (const l of [...this.#listeners]) l(approvalId, result);
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
  }
}
