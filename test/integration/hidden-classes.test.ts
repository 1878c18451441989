// The request path must not give its objects a V8 hidden class (map) of their own per request:
// such maps are allocated in the old generation and make every later read of the object
// megamorphic. Spreading an object and then adding a property did this on Node 20 (13 MB/s of old
// generation at saturation, a tenth of a GET's CPU: bench/HISTORY.md, "a hidden class per
// request"). The signature in V8's map log is one and the same transition (same map, same
// property) made again and again instead of being found in the map's transition tree.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditUpstreams } from '../helpers/audit-run.js';
import { startUpstream } from '../helpers/upstream.js';
import { startWarden, tempDir } from '../helpers/warden.js';

/** Transitions made more than `over` times from the same map with the same property name. */
function repeatedTransitions(log: string, over: number): [string, number][] {
  const seen = new Map<string, number>();
  for (const line of log.split('\n')) {
    if (!line.startsWith('map,Transition,')) continue;
    const f = line.split(',');
    const key = `${f[3]} +${f[f.length - 1]}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > over);
}

describe('hidden classes on the request path', () => {
  it('allowed and denied GETs and POSTs make no map per request', async () => {
    const gh = await startUpstream();
    const v8log = join(tempDir(), 'v8-maps.log');
    const logged = await startWarden({ child: true, upstreams: auditUpstreams(gh.url), nodeArgs: ['--log-maps', `--logfile=${v8log}`, '--no-logfile-per-isolate'] });
    const requests = 600;
    try {
      const tokens = await Promise.all([0, 1].map(async () => (await logged.task({ user: { id: 'dana', roles: ['maintainer'] }, stage: 'execute', risk: 'low', scopes: ['github:write'] })).token));
      const statuses = new Map<number, number>();
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < requests; i = next++) {
          const post = i % 4 === 3;
          const res = await fetch(`${logged.proxyUrl}/github/repos/acme/app/issues`, {
            method: post ? 'POST' : 'GET',
            headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, ...(post && { 'content-type': 'application/json' }) },
            ...(post && { body: JSON.stringify({ title: `fix ${i}` }) }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      // Two tasks of 300 calls each: the stage cap (200 calls) turns the last third into denies.
      expect(statuses.get(200)).toBe(400);
      expect(statuses.get(403)).toBe(200);
    } finally {
      await logged.close(); // V8 writes the rest of its log as the process exits
      await gh.close();
    }
    const log = readFileSync(v8log, 'utf8');
    expect(log).toContain('map,Transition,');
    expect(repeatedTransitions(log, requests / 4)).toEqual([]);
  }, 60_000);
});
