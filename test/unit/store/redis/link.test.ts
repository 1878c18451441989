// The fleet member's link to Redis against a real redis-server, with an injected clock for
// max_staleness: fresh only while its subscription is confirmed (fail closed past it, or at once
// when the subscription drops), messages between processes, the reset hooks on every reconnect,
// and STORE_UNAVAILABLE for every failed command.

import { describe, expect, it } from 'vitest';
import { WardenError } from '../../../../src/errors.js';
import { RedisLink, type StoreMessage } from '../../../../src/store/redis/link.js';
import { useRedisServer } from '../../../helpers/redis-server.js';
import { until, untilWithin } from '../../../helpers/wait.js';

const { server, afterTest } = useRedisServer();

let n = 0;
/** Two links of one fleet (same prefix), sharing a clock the test moves. */
async function pair(maxStalenessMs = 60_000): Promise<{ a: RedisLink; b: RedisLink; clock: { t: number } }> {
  const clock = { t: 1_000_000 };
  const prefix = `link${++n}:`;
  const open = async (): Promise<RedisLink> => {
    const l = await RedisLink.connect({ url: server().url, prefix, maxStalenessMs, now: () => clock.t });
    afterTest(() => l.close());
    return l;
  };
  return { a: await open(), b: await open(), clock };
}

describe('RedisLink', () => {
  it('is fresh once subscribed; unconfirmed past max_staleness it refuses, and a message confirms it again', async () => {
    const { a, b, clock } = await pair(60_000);
    expect(a.fresh()).toBe(true);
    clock.t += 60_000;
    expect(a.fresh()).toBe(true);
    clock.t += 1;
    expect(a.fresh()).toBe(false);
    expect(() => a.assertFresh()).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE', status: 503 }));
    await b.publish({ t: 'keys' });
    await until(() => a.fresh());
    expect(() => a.assertFresh()).not.toThrow();
  });

  it('delivers a message of one process to every listener of the others; a malformed one is dropped', async () => {
    const { a, b } = await pair();
    const got: StoreMessage[] = [];
    const stop = a.onMessage((m) => void got.push(m));
    await b.cmd.publish(a.key('events'), 'not json'); // the store's channel: <prefix>events
    await b.publish({ t: 'task', id: 't1' });
    await b.publish({ t: 'approval', id: 'a1', result: 'approved' });
    await untilWithin(() => got.length === 2, 5000, () => `got ${JSON.stringify(got)}`);
    expect(got).toEqual([{ t: 'task', id: 't1' }, { t: 'approval', id: 'a1', result: 'approved' }]);
    // A second listener of the same link witnesses delivery: messages on one connection arrive in
    // order, so once it has the last one, the stopped listener would have had the first.
    const witness: StoreMessage[] = [];
    a.onMessage((m) => void witness.push(m));
    stop();
    await b.publish({ t: 'agent', id: 'x' });
    await b.publish({ t: 'keys' });
    await untilWithin(() => witness.at(-1)?.t === 'keys', 5000, () => `witness ${JSON.stringify(witness)}`);
    expect(got).toHaveLength(2);
  });

  it('Redis gone: refuses at once, commands fail as STORE_UNAVAILABLE; back, the reset hooks run and it is fresh again', async () => {
    const { a } = await pair();
    let resets = 0;
    a.onReset(() => void resets++);
    await server().kill();
    try {
      await until(() => !a.fresh());
      expect(() => a.assertFresh()).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
      const err = await a.run(() => a.cmd.get(a.key('x'))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WardenError);
      expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', cause: expect.any(Error) });
    } finally {
      await server().restart();
    }
    await until(() => a.fresh());
    expect(resets).toBe(1);
    expect(await a.run(() => a.cmd.set(a.key('x'), '1'))).toBe('OK');
  });

  it('is not fresh while a command connection is down, though the subscription is confirmed', async () => {
    const { a } = await pair();
    expect(a.fresh()).toBe(true);
    a.fast.disconnect();
    await until(() => !a.fresh());
    expect(a.fast.status).toBe('end');
    expect(() => a.assertFresh()).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
  });

  it('passes a coded error through run() as it is, and names keys under its prefix', async () => {
    const { a } = await pair();
    const own = new WardenError('APPROVAL_CONFLICT', 'already decided');
    await expect(a.run(() => Promise.reject(own))).rejects.toBe(own);
    expect(a.key('task', 'abc')).toMatch(/^link\d+:task:abc$/);
    await a.close();
    await a.close();
  });
});
