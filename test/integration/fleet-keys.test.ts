// The fleet's key ring on a real redis-server: sidecars hold no task-signing key and trust only
// the task keys the control plane publishes; a sidecar's own assertion key (token exchange) never
// verifies a task token, even one carrying every task claim.

import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { joinKeyRing, type FleetKeys } from '../../src/identity/fleet-keys.js';
import { TaskTokens } from '../../src/identity/task-tokens.js';
import { RedisKeyRing } from '../../src/store/redis/key-ring.js';
import { RedisLink } from '../../src/store/redis/link.js';
import { useRedisServer } from '../helpers/redis-server.js';
import { writeConfig } from '../helpers/warden.js';

const redis = useRedisServer();
const links: RedisLink[] = [];
const joined: FleetKeys[] = [];
const ops = pino({ level: 'silent' });
const nowSec = (): number => Math.floor(Date.now() / 1000);

async function member(role: 'control' | 'sidecar'): Promise<TaskTokens> {
  const { config } = loadConfigFile(writeConfig({ bundle: null }).configFile);
  const link = await RedisLink.connect({ url: redis.server().url, prefix: 'keys-test:', maxStalenessMs: 1000 });
  links.push(link);
  const tokens = role === 'control' ? await TaskTokens.create(config) : await TaskTokens.verifier(config);
  joined.push(await joinKeyRing(new RedisKeyRing(link), tokens, config.identity.task_tokens.max_ttl, ops));
  return tokens;
}

afterAll(async () => {
  for (const j of joined) j.close();
  await Promise.all(links.map((l) => l.close()));
});

describe('fleet key ring', () => {
  it('a sidecar signs no task token and verifies the control plane\'s; its assertion key verifies none', async () => {
    const control = await member('control');
    const a = await member('sidecar');
    const b = await member('sidecar');
    expect(a.kid).toBeUndefined();
    await expect(a.sign('agent-1', 't1', nowSec(), nowSec() + 60)).rejects.toMatchObject({ code: 'TASK_SIGNER_ELSEWHERE' });
    const token = await control.sign('agent-1', 't1', nowSec(), nowSec() + 60);
    await expect(a.verify(token, 0)).resolves.toMatchObject({ tid: 't1' });
    // An assertion of sidecar b dressed as a task token (issuer, audience and tid of one).
    const forged = await b.signAssertion('agent-1', 'warden', { tid: 't1', nbf: nowSec() }, 60);
    for (const t of [a, b, control]) await expect(t.verify(forged, 0)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    // Every member serves the fleet's assertion keys (a's and b's), never the task key.
    const kids = (await joined[1]!.assertionJwks()).map((k) => k.kid);
    expect(kids).toContain((await a.assertionJwk()).kid);
    expect(kids).toContain((await b.assertionJwk()).kid);
    expect(kids).not.toContain(control.kid);
  });
});
