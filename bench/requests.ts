// The requests every benchmark sends (bench/run.ts, bench/ab.ts).

export const GET_PATH = '/repos/acme/app/issues';
export const MCP_BODY = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'search_code', arguments: { query: 'repo:acme/app PolicyEngine', per_page: 20 } } });
export const BASE_HEADERS = { accept: 'application/vnd.github+json', 'user-agent': 'bench-agent/1.0' };
/** A 1 KB JSON body: a write (issue creation) the example policy allows on the `write` lane. */
export const POST_BODY = JSON.stringify({ title: 'Flaky test in CI', body: 'x'.repeat(900), labels: ['bug', 'ci'], assignees: ['alice'] });
export const POST_HEADERS = { accept: 'application/vnd.github+json', 'content-type': 'application/json', 'user-agent': 'bench-agent/1.0' };
export const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'user-agent': 'bench-agent/1.0' };
