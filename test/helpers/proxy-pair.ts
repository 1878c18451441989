// The usual security-test setup: one recording upstream, one in-process Warden routing `/<name>`
// to it, and a task (the example defaults of WardenHandle.task) whose token the agent sends.

import { startUpstream, type TestUpstream } from './upstream.js';
import { startWarden, type WardenHandle, type WardenOptions } from './warden.js';

export interface ProxyPairOptions extends Omit<WardenOptions, 'upstreams'> {
  /** The upstream's name; Warden routes the prefix `/<name>` to it. */
  name: string;
  /** More fields of the upstream's configuration (lanes, mcp, timeout). */
  upstream?: Record<string, unknown>;
}

export interface ProxyPair {
  upstream: TestUpstream;
  w: WardenHandle;
  task: { task_id: string; token: string; expires_at: string };
  /** The task's token. */
  token: string;
}

/** Start the upstream, then Warden, then create the task; on a failure, what was started is closed. */
export async function startProxyPair(opts: ProxyPairOptions): Promise<ProxyPair> {
  const { name, upstream: fields, ...warden } = opts;
  const upstream = await startUpstream();
  let w: WardenHandle | undefined;
  try {
    w = await startWarden({ ...warden, upstreams: { [name]: { prefix: `/${name}`, url: upstream.url, ...fields } } });
    const task = await w.task();
    return { upstream, w, task, token: task.token };
  } catch (err) {
    await closeAll(w, upstream);
    throw err;
  }
}

/** Close each in turn (a Warden before its upstreams); undefined ones (a setup that failed early) are skipped. */
export async function closeAll(...things: ({ close(): Promise<unknown> } | undefined)[]): Promise<void> {
  for (const thing of things) await thing?.close();
}
