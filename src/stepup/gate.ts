// The request path's view of the step-up manager (src/proxy/gates.ts StepUpGate).

import type { StepUpGate } from '../proxy/gates.js';
import { bindingDigest } from './binding.js';
import type { StepUpManager } from './manager.js';

export function stepUpGate(manager: StepUpManager): StepUpGate {
  return {
    mayHaveApprovals: (taskId) => manager.mayHaveApprovals(taskId),
    digest: (b) => bindingDigest(b),
    findGrant: (d) => manager.findGrant(d),
    findDenial: (d) => manager.findDenial(d),
    consume: (id) => manager.consume(id),
    async request(req) {
      const a = await manager.request({ ...req, approvers: [...req.approvers] });
      return { id: a.id, status: a.status, expires_at: new Date(a.expires_at).toISOString() };
    },
    wait: (id, ms, signal) => manager.wait(id, ms, signal),
  };
}
