// The approval store (step-up approvals from request to single use) and the channel that wakes
// requests held for a decision. SQLite and an in-process channel implement them today; a fleet
// puts both on Redis (another file each) so that a decision in one process wakes a waiter in any.
// Every state change is atomic in the store: decide and consume succeed for exactly one caller
// even when requests in several processes race for them.

import type { Awaitable } from './awaitable.js';

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'used', 'expired', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** One approval; times are unix milliseconds. */
export interface Approval {
  id: string;
  binding_digest: string;
  task_id: string | null;
  agent_id: string | null;
  upstream: string;
  method: string;
  path: string;
  /** What the approver was shown (see buildSummary). */
  summary: Record<string, unknown>;
  /** What only the console shows (it stays in the pod, never in the webhook): see buildDetail. */
  detail: Record<string, unknown> | null;
  decision_id: string;
  reason: string | null;
  risk: string | null;
  approvers: string[];
  status: ApprovalStatus;
  approver: string | null;
  decision_reason: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  used_at: number | null;
}

export type NewApproval = Omit<Approval, 'status' | 'approver' | 'decision_reason' | 'decided_at' | 'used_at' | 'detail'> & { detail?: Record<string, unknown> | null };

/** The result of decide(): `changed` is false when the approval was not pending (or had expired). */
export interface DecideResult {
  readonly approval: Approval;
  readonly changed: boolean;
}

export interface ApprovalStore {
  get(id: string): Awaitable<Approval | undefined>;
  /** The newest unexpired pending, approved or denied approval for this call. */
  findLive(bindingDigest: string, now: number): Awaitable<Approval | undefined>;
  /** Find a live approval or insert `create()`, atomically (no duplicate across processes). */
  findLiveOrInsert(bindingDigest: string, now: number, create: () => NewApproval): Awaitable<{ approval: Approval; created: boolean }>;
  /** Task ids ('' for approvals without a task) that have a live approval. */
  liveTaskIds(now: number): Awaitable<string[]>;
  /** Newest first, at most `limit` (default 500). */
  list(opts?: { status?: ApprovalStatus; limit?: number }): Awaitable<Approval[]>;
  /** pending → approved|denied, atomically; undefined when the id is unknown. */
  decide(id: string, status: 'approved' | 'denied', approver: string, reason: string | undefined, now: number): Awaitable<DecideResult | undefined>;
  /** approved → used, atomically: true for exactly one caller, false once used or expired. */
  consume(id: string, now: number): Awaitable<boolean>;
  /** Cancel the pending and approved approvals of a task; returns their ids. */
  cancelForTask(taskId: string, now: number): Awaitable<string[]>;
  /** Mark pending and approved approvals past their expiry as expired (denials stay); returns their ids. */
  expire(now: number): Awaitable<string[]>;
}

/** How an approval settled, as the wake-up channel carries it. */
export type ApprovalSettlement = 'approved' | 'denied' | 'expired';

/**
 * The wake-up channel for requests held in `step_up.hold`: whoever settles an approval (admin API,
 * webhook answer, revocation, expiry sweep) publishes it; every subscriber, in this process or
 * another one sharing the store, hears it.
 */
export interface ApprovalEvents {
  publish(approvalId: string, result: ApprovalSettlement): Awaitable<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: (approvalId: string, result: ApprovalSettlement) => void): () => void;
  close(): Awaitable<void>;
}
