// Class 2 of issue 10, ambiguous JSON: valid JSON that parsers read differently. JSON.parse keeps
// the last of duplicate keys (many parsers keep the first), rounds numbers a double cannot hold,
// turns -0 into 0 once serialized, and replaces invalid UTF-8 with U+FFFD; a lone surrogate
// escape is read differently everywhere. src/proxy/strict-json.ts finds each one and Warden
// refuses the body 400 BODY_AMBIGUOUS, never forwarded.
//
// Mutations checked: with the duplicate-key check removed (keys.has ignored) the duplicate tests
// forward the request; with checkNumber returning at once the number tests forward; with the
// isUtf8 check removed the invalid-UTF-8 test forwards; with the surrogate checks removed the
// surrogate tests forward.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectForwarded, expectRefused, send, startRig, type Rig } from '../helpers/differential.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(() => rig.close());

const json = { 'content-type': 'application/json' };
const refused = async (body: string | Buffer, target = '/api/items') => expectRefused(rig, await send(rig, target, { headers: json, body }), 'BODY_AMBIGUOUS', 400);

describe('ambiguous JSON is refused (400 BODY_AMBIGUOUS)', () => {
  it('refuses duplicate top-level keys ("delete" first, "read" last)', () => refused('{"action":"delete","action":"read"}'));
  it('refuses duplicate keys at depth', () => refused('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo","name":"search"}}', '/tools/mcp'));
  it('refuses duplicate keys written once plain and once escaped', () => refused('{"action":"delete","\\u0061ction":"read"}'));
  it('refuses an integer beyond 2^53 (precision lost)', () => refused('{"action":"read","amount":9007199254740993}'));
  it('refuses an integer beyond 2^53 even when a double holds it exactly (int64 parsers differ from the policy)', () => refused('{"action":"read","amount":9007199254740992}'));
  it('refuses a number that overflows a double (null once serialized)', () => refused('{"action":"read","amount":1e400}'));
  it('refuses a number that underflows to zero', () => refused('{"action":"read","amount":1e-400}'));
  it('refuses a decimal with more digits than a double holds', () => refused('{"action":"read","amount":0.1000000000000000000001}'));
  it('refuses -0', () => refused('{"action":"read","amount":-0}'));
  it('refuses invalid UTF-8', () => refused(Buffer.concat([Buffer.from('{"action":"del'), Buffer.from([0xff]), Buffer.from('ete"}')])));
  it('refuses an overlong UTF-8 sequence', () => refused(Buffer.concat([Buffer.from('{"action":"'), Buffer.from([0xc1, 0xa4]), Buffer.from('elete"}')])));
  it('refuses a lone high surrogate escape', () => refused('{"action":"read","note":"\\ud800"}'));
  it('refuses a lone low surrogate escape', () => refused('{"action":"read","note":"\\udfff"}'));
});

describe('unambiguous JSON passes unchanged (controls)', () => {
  it('forwards numbers, escapes and unicode the policy reads exactly as sent', async () => {
    const body = '{"action":"read","n":[9007199254740991,0.30000000000000004,1.5e300,0,-1],"s":"\\u00e9\\ud83d\\ude00 é"}';
    const { input, seen } = await expectForwarded(rig, await send(rig, '/api/items', { headers: json, body }));
    expect(seen.body).toBe(body);
    expect(input.request.body).toEqual(JSON.parse(body));
  });
});
