// A real redis-server (Debian's package) on a free loopback port, with AOF persistence in a temp
// dir, as a fleet runs it. `kill()` and `restart()` drive the outage tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { tempDir } from './warden.js';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = tempDir('warden-redis-');
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`redis-server did not start:\n${out}`)), 15_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(t);
          res();
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', onData);
      c.once('exit', (code) => {
        clearTimeout(t);
        rej(new Error(`redis-server exited ${code}:\n${out}`));
      });
    });
    c.stdout!.resume();
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}/0`, port, kill, restart: start, close: kill };
}

/**
 * A redis-server for the calling test file (started before its tests, stopped after them), and
 * cleanups to run after each test (connections the test opened), last registered first.
 */
export function useRedisServer(): { readonly server: () => TestRedis; readonly afterTest: (c: () => unknown) => void } {
  let redis: TestRedis | undefined;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await redis?.close();
  });
  return {
    server: () => {
      if (!redis) throw new Error('redis-server is not started yet');
      return redis;
    },
    afterTest: (c) => void cleanups.push(c),
  };
}
