// Credential lanes from a real configuration (loadConfigText: env and file references), with a
// real authorization server for the just-in-time lane: which header a lane fills and with what,
// a rotated file taking effect on the next call, and the coded errors when a lane is missing,
// its secret went away, or the policy narrows a static secret. No value ever appears in an error.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigText, type LoadedConfig } from '../../../src/config/load.js';
import { JitCredentials, oauthLanesOf } from '../../../src/credentials/jit-credentials.js';
import { LaneCredentials } from '../../../src/credentials/lane-credentials.js';
import { CredentialLanes } from '../../../src/credentials/lanes.js';
import { OAuthClient } from '../../../src/credentials/oauth-client.js';
import { SqliteCredentialStore } from '../../../src/store/sqlite/credential-store.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { oauthLane, startTestAuthServer, type AuthServer } from '../../helpers/auth-server.js';

process.env.LANES_TEST_ADMIN = 'lanes-test-admin-token-0123456789';
process.env.LANES_TEST_READ = 'read-secret-9f1c';

let dir: string;
let keyFile: string;
let as: AuthServer;
let loaded: LoadedConfig;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lanes-'));
  keyFile = join(dir, 'write.key');
  writeFileSync(keyFile, 'write-secret-v1\n');
  as = await startTestAuthServer();
  loaded = loadConfigText(
    stringify({
      admin: { token: '${env:LANES_TEST_ADMIN}' },
      upstreams: {
        github: {
          prefix: '/github',
          url: 'http://127.0.0.1:1',
          lanes: {
            read: { value: 'Bearer ${env:LANES_TEST_READ}' },
            write: { header: 'X-Api-Key', value: 'key=${file:write.key};v=1' },
            minted: oauthLane(as, 'client_credentials', 'repo:read repo:write'),
          },
        },
        docs: { prefix: '/docs', url: 'http://127.0.0.1:2' },
      },
    }),
    dir,
  );
});
afterAll(async () => {
  await as?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CredentialLanes (static lanes)', () => {
  it('fills the lane\'s header, lowercased, with the resolved value', () => {
    const lanes = new CredentialLanes(loaded.config.upstreams, loaded.lanes);
    expect(lanes.resolve('github', 'read')).toEqual({ header: 'authorization', value: 'Bearer read-secret-9f1c', log: { lane: 'read', kind: 'static', id: 'github/read' } });
    expect(lanes.resolve('github', 'write')).toEqual({ header: 'x-api-key', value: 'key=write-secret-v1;v=1', log: { lane: 'write', kind: 'static', id: 'github/write' } });
  });

  it('names every lane header of an upstream, oauth lanes included, and none for an upstream without lanes', () => {
    const lanes = new CredentialLanes(loaded.config.upstreams, loaded.lanes);
    expect([...lanes.headerNames('github')].sort()).toEqual(['authorization', 'x-api-key']);
    expect([...lanes.headerNames('docs')]).toEqual([]);
    expect([...lanes.headerNames('unknown')]).toEqual([]);
  });

  it('knows only its static lanes', () => {
    const lanes = new CredentialLanes(loaded.config.upstreams, loaded.lanes);
    expect([lanes.has('github', 'read'), lanes.has('github', 'write'), lanes.has('github', 'minted'), lanes.has('docs', 'read')]).toEqual([true, true, false, false]);
  });

  it('reads a rotated file on the next call, one trailing newline dropped', () => {
    const lanes = new CredentialLanes(loaded.config.upstreams, loaded.lanes);
    expect(lanes.resolve('github', 'write').value).toBe('key=write-secret-v1;v=1');
    writeFileSync(keyFile, 'write-secret-version-2\r\n');
    expect(lanes.resolve('github', 'write').value).toBe('key=write-secret-version-2;v=1');
    writeFileSync(keyFile, 'write-secret-v1\n');
  });

  it('refuses a lane the upstream does not define with LANE_UNDEFINED (403)', () => {
    const lanes = new CredentialLanes(loaded.config.upstreams, loaded.lanes);
    expect(() => lanes.resolve('github', 'admin')).toThrow(expect.objectContaining({ code: 'LANE_UNDEFINED', status: 403, detail: 'github has no lane admin' }));
    expect(() => lanes.resolve('github', 'minted')).toThrow(expect.objectContaining({ code: 'LANE_UNDEFINED' }));
    expect(() => lanes.resolve('nope', 'read')).toThrow(expect.objectContaining({ code: 'LANE_UNDEFINED', detail: 'nope has no lane read' }));
  });

  it.each([
    ['its file is gone', () => rmSync(keyFile), 'write', 'upstreams.github.lanes.write.value: file write.key cannot be read'],
    ['its file is empty', () => writeFileSync(keyFile, '\n'), 'write', 'upstreams.github.lanes.write.value: file write.key is empty'],
  ])('answers UPSTREAM_CREDENTIAL_UNAVAILABLE (503) when %s, naming the reference only', (_what, breakIt, lane, detail) => {
    const lanes = new CredentialLanes(loaded.config.upstreams, loaded.lanes);
    const before = lanes.resolve('github', lane).value;
    breakIt();
    try {
      let caught: unknown;
      try {
        lanes.resolve('github', lane);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'UPSTREAM_CREDENTIAL_UNAVAILABLE', status: 503, detail });
      expect((caught as { cause: unknown }).cause).toMatchObject({ code: 'CONFIG_SECRET_UNRESOLVED' });
      expect(JSON.stringify(caught)).not.toContain(before);
    } finally {
      writeFileSync(keyFile, 'write-secret-v1\n');
    }
  });

  it('refuses a configuration whose static lane has no template with CONFIG_INVALID', () => {
    const withoutWrite = new Map([...loaded.lanes].filter(([k]) => k !== 'github/write'));
    expect(() => new CredentialLanes(loaded.config.upstreams, withoutWrite)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', detail: 'upstreams.github.lanes.write: no credential template' }));
  });
});

describe('LaneCredentials (static and just-in-time)', () => {
  function laneCredentials(): LaneCredentials {
    const stateDir = mkdtempSync(join(dir, 'state-'));
    const jit = new JitCredentials(oauthLanesOf(loaded.config.upstreams, loaded.oauthSecrets), new SqliteCredentialStore(openDatabase(stateDir)), new OAuthClient(), {
      signAssertion: () => Promise.reject(new Error('no token exchange in this test')),
    });
    return new LaneCredentials(new CredentialLanes(loaded.config.upstreams, loaded.lanes), jit);
  }
  const endsAtMs = Date.now() + 3_600_000;
  const who = () => ({ agentId: 'agent-1', task: { id: 'task-1', userId: 'alice', endsAtMs } });

  it('logs a static lane as {lane, kind: static, id: upstream/lane}, never its value', async () => {
    const c = await laneCredentials().resolve('github', 'read', who, undefined);
    expect(c).toEqual({ header: 'authorization', value: 'Bearer read-secret-9f1c', log: { lane: 'read', kind: 'static', id: 'github/read' } });
  });

  it("gives a static lane's log entry as one frozen object per lane (the decision log serializes it once)", async () => {
    const lanes = laneCredentials();
    const [a, b, other] = await Promise.all([lanes.resolve('github', 'read', who, undefined), lanes.resolve('github', 'read', who, undefined), lanes.resolve('github', 'write', who, undefined)]);
    expect(Object.isFrozen(a.log)).toBe(true);
    expect(b.log).toBe(a.log);
    expect(other.log).toEqual({ lane: 'write', kind: 'static', id: 'github/write' });
  });

  it('refuses to narrow a static lane (POLICY_RESULT_INVALID): forwarding it would grant more than asked', async () => {
    await expect(laneCredentials().resolve('github', 'read', who, { scope: 'repo:read' })).rejects.toMatchObject({
      code: 'POLICY_RESULT_INVALID',
      detail: 'credential: lane github/read is static and cannot be narrowed',
    });
  });

  it('mints a just-in-time lane\'s token at the authorization server, logged by its credential id, and reuses it for the task', async () => {
    const lanes = laneCredentials();
    expect(lanes.has('github', 'minted')).toBe(true);
    expect(lanes.has('github', 'other')).toBe(false);
    const first = await lanes.resolve('github', 'minted', who, { scope: 'repo:read' });
    expect(first.header).toBe('authorization');
    expect(first.value).toMatch(/^Bearer \S+$/);
    expect(first.log).toEqual({ lane: 'minted', kind: 'client_credentials', id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(JSON.stringify(first.log)).not.toContain(first.value.slice('Bearer '.length));
    expect(await lanes.resolve('github', 'minted', who, { scope: 'repo:read' })).toEqual(first);
    const wider = await lanes.resolve('github', 'minted', who, undefined);
    expect(wider.log.id).not.toBe(first.log.id);
  });
});
