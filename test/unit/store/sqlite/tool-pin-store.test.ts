import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../../src/store/sqlite/database.js';
import { SqliteToolPinStore } from '../../../../src/store/sqlite/tool-pin-store.js';
import { tempDir } from '../../../helpers/warden.js';

const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});
function open(dir: string): SqliteToolPinStore {
  const db = openDatabase(dir);
  dbs.push(db);
  return new SqliteToolPinStore(db);
}

describe('SqliteToolPinStore', () => {
  it('pins the first definition seen, tracks later ones, and re-pins on request', () => {
    const s = open(tempDir());
    expect(s.get('tools', 'get_x')).toBeUndefined();
    expect(s.observe('tools', 'get_x', 'sha256:a', 1000)).toMatchObject({ seen: 'sha256:a', pin: 'sha256:a', first_seen_at: 1000, pinned_at: 1000 });
    expect(s.observe('tools', 'get_x', 'sha256:b', 2000)).toMatchObject({ seen: 'sha256:b', pin: 'sha256:a', seen_at: 2000 });
    expect(s.pin('tools', 'get_x', 3000)).toMatchObject({ seen: 'sha256:b', pin: 'sha256:b', pinned_at: 3000 });
    expect(s.pin('tools', 'never_seen', 3000)).toBeUndefined();
    expect(s.list().map((r) => r.tool)).toEqual(['get_x']);
  });
  it('keeps pins across a reopen, and a second process sharing the file keeps the first pin', () => {
    const dir = tempDir();
    const a = open(dir);
    a.observe('tools', 'get_x', 'sha256:a', 1000);
    const b = open(dir);
    expect(b.get('tools', 'get_x')).toMatchObject({ pin: 'sha256:a' });
    expect(b.observe('tools', 'get_x', 'sha256:evil', 2000)).toMatchObject({ pin: 'sha256:a', seen: 'sha256:evil' });
  });
});
