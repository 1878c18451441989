// The console as any process that serves the admin API mounts it (the sidecar; a control plane
// over a shared store): its sessions, tokens and timelines made from the loaded configuration.

import type { LoadedConfig } from '../config/load.js';
import { ApproverTokens } from './approver-tokens.js';
import { createConsole, type ConsoleApprovals, type ConsoleHandler } from './handler.js';
import { ConsoleSessions } from './sessions.js';
import { taskTimelines } from './task-timeline.js';

export interface ConsoleMount {
  readonly loaded: LoadedConfig;
  readonly approvals: ConsoleApprovals;
  /** The decision log: console events go there, and timelines are read back from it. */
  readonly log: { event(name: string, fields: Record<string, unknown>): void; flush(): void };
  /** `decision_log.path` resolved against the configuration's directory, or stdout/stderr. */
  readonly logPath: string;
}

export function mountConsole(m: ConsoleMount): ConsoleHandler {
  const { config, secrets } = m.loaded;
  return createConsole({
    approvals: m.approvals,
    tokens: new ApproverTokens(secrets.adminToken, secrets.approvers),
    sessions: new ConsoleSessions({ ttl: config.admin.session_ttl, idle: config.admin.session_idle }),
    audit: m.log,
    timelines: taskTimelines({ path: m.logPath, flush: () => m.log.flush() }),
    // The approvers' URL says whether they reach the console over TLS (which may end in front of Warden).
    secureCookies: config.step_up.approval_url?.startsWith('https:') ?? false,
  });
}
