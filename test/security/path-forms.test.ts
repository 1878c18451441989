// Class 4 of issue 10, path forms that some upstream stack reads as another path than the policy
// saw (src/proxy/path.ts checkReading): `;` path parameters (Tomcat and Jetty strip them before
// resolving dot segments), double encoding, overlong UTF-8, characters whose compatibility form is
// a dot or a slash, and segments ending in a dot or a space (Windows, IIS). Each is refused 400
// PATH_INVALID, never forwarded; `upstreams.<name>.path_parameters: true` forwards `;` parameters
// for an upstream that uses them, but never on a dot or empty segment.
//
// Mutations checked: without the `;` refusal `/api/public/..;/admin` is forwarded (Tomcat reads
// /admin); without the `%25XX` check `%252e%252e` is forwarded; with decodeURIComponent's failure
// ignored the overlong forms are forwarded; without the NFKC check the fullwidth forms are
// forwarded; without the trailing dot/space check `admin.` is forwarded; with path parameters
// on and the dot-segment check removed `..;x` is forwarded.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectForwarded, expectRefused, send, startRig, type Rig } from '../helpers/differential.js';

let rig: Rig;
let matrix: Rig;
beforeAll(async () => {
  rig = await startRig();
  matrix = await startRig({ upstream: { path_parameters: true } });
});
afterAll(async () => {
  await rig.close();
  await matrix.close();
});

const refused = async (r: Rig, target: string) => expectRefused(r, await send(r, target), 'PATH_INVALID', 400);

describe('path forms an upstream reads differently are refused (400 PATH_INVALID)', () => {
  it('refuses a ..; segment (Tomcat/Jetty strip the parameter, then climb)', () => refused(rig, '/api/public/..;/admin'));
  it('refuses a path parameter on a plain segment', () => refused(rig, '/api/admin;jsessionid=x/users'));
  it('refuses an encoded semicolon', () => refused(rig, '/api/public/..%3b/admin'));
  it('refuses double encoding of a dot segment (%252e%252e)', () => refused(rig, '/api/public/%252e%252e/admin'));
  it('refuses double encoding of a slash (%252f)', () => refused(rig, '/api/public%252fadmin'));
  it('refuses an overlong UTF-8 dot (%c0%ae%c0%ae)', () => refused(rig, '/api/public/%c0%ae%c0%ae/admin'));
  it('refuses an overlong UTF-8 slash (%c0%af)', () => refused(rig, '/api/public%c0%afadmin'));
  it('refuses a three-byte overlong dot (%e0%80%ae)', () => refused(rig, '/api/public/%e0%80%ae%e0%80%ae/admin'));
  it('refuses fullwidth dots (U+FF0E U+FF0E)', () => refused(rig, '/api/public/%ef%bc%8e%ef%bc%8e/admin'));
  it('refuses a fullwidth solidus (U+FF0F)', () => refused(rig, '/api/public%ef%bc%8fadmin'));
  it('refuses a one-dot leader pair (U+2024)', () => refused(rig, '/api/public/%e2%80%a4%e2%80%a4/admin'));
  it('refuses a trailing dot (admin. is admin on Windows and IIS)', () => refused(rig, '/api/admin./users'));
  it('refuses a trailing space', () => refused(rig, '/api/admin%20/users'));
  it('refuses a triple dot segment', () => refused(rig, '/api/public/.../admin'));
});

describe('path parameters where the upstream uses them (path_parameters: true)', () => {
  it('forwards matrix parameters as sent, and the policy sees them', async () => {
    const { input, seen } = await expectForwarded(matrix, await send(matrix, '/api/cars;color=red/doors'));
    expect(seen.url).toBe('/cars;color=red/doors');
    expect(input.request.path).toBe(seen.url);
  });

  it('still refuses ..; (a dot segment with a parameter)', () => refused(matrix, '/api/public/..;x/admin'));
  it('still refuses a parameter on an empty segment', () => refused(matrix, '/api/public/;x/admin'));
});

describe('ordinary paths pass (controls)', () => {
  it('forwards dotted file names, unicode and versions exactly as the policy saw them', async () => {
    const { input, seen } = await expectForwarded(rig, await send(rig, '/api/files/report.v1.json/%C3%A9t%C3%A9'));
    expect(seen.url).toBe('/files/report.v1.json/%C3%A9t%C3%A9');
    expect(input.request.path).toBe(seen.url);
  });
});
