// The SealingKeyStore contract on every backend (backends.ts): what the MCP requestState relies on.
// A key is created once and every reader after gets it: the same process again, a restart or
// another process on the same state (the fleet), even when two ask for it first at once; another
// store's key, or another name, is another key.

import { describe, expect, it } from 'vitest';
import { REQUEST_STATE_KEY } from '../../../../src/store/sealing-keys.js';
import { useBackends } from './backends.js';

const backends = useBackends();

describe.each(Object.keys(backends))('SealingKeyStore on %s', (kind) => {
  const open = backends[kind]!;

  it('creates a 32-byte key once; the same store, a restart and another process read that one', async () => {
    const b = await open();
    const key = await b.stores.sealingKeys.get(REQUEST_STATE_KEY);
    expect(key).toBeInstanceOf(Buffer);
    expect(key.length).toBe(32);
    expect(await b.stores.sealingKeys.get(REQUEST_STATE_KEY)).toEqual(key);
    const again = await b.reopen();
    expect(await again.sealingKeys.get(REQUEST_STATE_KEY)).toEqual(key);
  });

  it('two processes asking first at once agree on one key', async () => {
    const b = await open();
    const other = await b.reopen();
    const [one, two] = await Promise.all([b.stores.sealingKeys.get('race'), other.sealingKeys.get('race')]);
    expect(one).toEqual(two);
  });

  it('another name, or another store, has another key', async () => {
    const [a, b] = [await open(), await open()];
    const key = await a.stores.sealingKeys.get(REQUEST_STATE_KEY);
    expect(await a.stores.sealingKeys.get('other')).not.toEqual(key);
    expect(await b.stores.sealingKeys.get(REQUEST_STATE_KEY)).not.toEqual(key);
  });
});
