// Who a console sign-in token belongs to: the admin token (signed in as `admin`) or one of the
// named approver tokens (`admin.approvers`). Every token is compared, in constant time, whatever
// matched first: the time taken says nothing about which one matched or how close a guess was.

import { safeEqual } from '../admin/auth.js';
import { ADMIN_APPROVER } from '../config/loaded.js';

export class ApproverTokens {
  readonly #entries: readonly (readonly [name: string, token: string])[];

  constructor(adminToken: string, approvers: ReadonlyMap<string, string>) {
    this.#entries = [[ADMIN_APPROVER, adminToken], ...approvers];
  }

  /** The approver's name, or undefined for a token that is nobody's. */
  identify(token: string): string | undefined {
    let name: string | undefined;
    for (const [n, t] of this.#entries) if (safeEqual(token, t) && name === undefined) name = n;
    return name;
  }
}

/** Whether `approver` may decide an approval whose policy named `approvers` (none: anyone signed in). */
export function mayDecide(approver: string, approvers: readonly string[]): boolean {
  return approver === ADMIN_APPROVER || approvers.length === 0 || approvers.includes(approver);
}
