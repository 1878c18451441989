// njs (nginx JavaScript, 0.7.x) authorizer of the benchmark's nginx + OPA peer. It builds the
// input Warden builds (request, mcp, agent, task, time) and asks `opa run --server` through the
// internal location /_opa (kept-alive upstream connections), the way deployments put OPA behind
// nginx `auth_request`. The task is fixed (OPA has no task store): the agent's bearer token is
// compared to a known value, standing in for a JWT check, and usage counts are not kept (the
// benchmark raises the policy's call caps out of the way).
//
// check(r):    the auth_request subrequest for bodiless requests (GET); answers 200 with the
//              policy's lane in `X-Warden-Lane`, or 401/403.
// withBody(r): requests with a body (POST): auth_request cannot see a body, so this content
//              handler reads it, asks OPA, then forwards through the internal /_up/ location.

var crypto = require('crypto');

var TOKEN = 'Bearer bench-opa-style-token';
var CREDENTIALS = { authorization: 1, 'proxy-authorization': 1, cookie: 1, host: 1, connection: 1, 'content-length': 1 };
var STARTED = Date.now();
var TASK = {
  id: 'task-bench', stage: 'execute', risk: 'low', user: { id: 'alice', roles: ['developer'] },
  scopes: ['github:write'], expires_at: new Date(STARTED + 3600000).toISOString(), usage: { calls: 0, stage_calls: 0 },
};
var AGENT = { id: 'bench', issuer: 'warden', claims: { sub: 'bench', tid: TASK.id, iss: 'warden', aud: 'warden' } };

function split(uri) {
  var q = uri.indexOf('?');
  var path = q < 0 ? uri : uri.slice(0, q);
  var slash = path.indexOf('/', 1);
  return { upstream: path.slice(1, slash), path: path.slice(slash), search: q < 0 ? '' : uri.slice(q + 1) };
}

function parseQuery(search) {
  var out = {};
  if (!search) return out;
  var parts = search.split('&');
  for (var i = 0; i < parts.length; i++) {
    if (!parts[i]) continue;
    var eq = parts[i].indexOf('=');
    var k = decodeURIComponent(eq < 0 ? parts[i] : parts[i].slice(0, eq));
    var v = eq < 0 ? '' : decodeURIComponent(parts[i].slice(eq + 1));
    (out[k] = out[k] || []).push(v);
  }
  return out;
}

function mcpOf(body) {
  if (!body || typeof body !== 'object' || body.jsonrpc !== '2.0' || typeof body.method !== 'string') return undefined;
  var p = body.params || {};
  var m = { kind: 'request', method: body.method, id: body.id };
  if (body.method === 'tools/call') {
    m.tool = p.name;
    m.arguments = p.arguments;
  }
  return m;
}

function input(r, method, raw) {
  var t = split(r.variables.request_uri);
  var headers = {};
  for (var k in r.headersIn) {
    var lk = k.toLowerCase();
    if (!CREDENTIALS[lk]) headers[lk] = r.headersIn[k];
  }
  var ct = r.headersIn['Content-Type'];
  var body = null;
  if (raw.length > 0 && ct && ct.indexOf('json') >= 0) body = JSON.parse(raw);
  var request = {
    id: r.variables.request_id, method: method, upstream: t.upstream, path: t.path, query: parseQuery(t.search),
    headers: headers, body: body, body_digest: 'sha256:' + crypto.createHash('sha256').update(raw).digest('hex'), size: raw.length,
  };
  if (ct) request.content_type = ct;
  var now = Date.now();
  var out = { request: request, agent: AGENT, task: TASK, time: { now_ns: now * 1000000, rfc3339: new Date(now).toISOString() } };
  var mcp = t.upstream === 'tools' ? mcpOf(body) : undefined;
  if (mcp) out.mcp = mcp;
  return { input: out, split: t };
}

// Ask OPA; `done(lane)` on allow with a lane, `done(undefined, status)` otherwise.
function decide(r, doc, done) {
  r.subrequest('/_opa', { method: 'POST', body: JSON.stringify({ input: doc }) }, function (reply) {
    if (reply.status !== 200) return done(undefined, 503);
    var res = JSON.parse(reply.responseText).result;
    if (!res || res.decision !== 'allow' || (res.lane !== 'read' && res.lane !== 'write')) return done(undefined, 403);
    done(res.lane);
  });
}

function check(r) {
  if (r.headersIn.Authorization !== TOKEN) return r.return(401);
  var built = input(r, r.variables.orig_method, '');
  decide(r, built.input, function (lane, status) {
    if (!lane) return r.return(status);
    r.headersOut['X-Warden-Lane'] = lane;
    r.return(200);
  });
}

function withBody(r) {
  if (r.headersIn.Authorization !== TOKEN) return r.return(401);
  var raw = r.requestText || '';
  var built = input(r, r.method, raw);
  decide(r, built.input, function (lane, status) {
    if (!lane) return r.return(status, '{"error":"denied"}');
    r.variables.authz_lane = lane;
    r.subrequest('/_up' + built.split.path, { method: r.method, body: raw, args: built.split.search }, function (up) {
      var ct = up.headersOut['Content-Type'];
      if (ct) r.headersOut['Content-Type'] = ct;
      r.return(up.status, up.responseText);
    });
  });
}

export default { check: check, withBody: withBody };
