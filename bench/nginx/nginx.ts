// The benchmark's nginx systems: bare nginx (the proxying floor) and nginx + OPA, the architecture
// users run today: `auth_request` to an njs authorizer (authz.js) that asks `opa run --server`
// (the pinned OPA, same Rego, decision log on) over kept-alive connections. Requests with a body
// go through the njs content handler instead, since auth_request never sees a body. One worker
// process each, like Warden's one Node process. Debian's nginx and libnginx-mod-http-js; nothing
// is installed here: `missingNginx()` says what is missing.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureOpa } from '../../scripts/opa.mjs';
import { ROOT, spawnProc, waitHttp } from '../procs.js';
import { freePort, type Started } from '../systems.js';

export const NGINX_BIN = '/usr/sbin/nginx';
export const NJS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';
export const NGINX_OPA_TOKEN = 'bench-opa-style-token';
/** njs is not compiled: both the tsx and the compiled benchmark read it from the sources. */
const AUTHZ = path.join(ROOT, 'bench', 'nginx', 'authz.js');

/** What the nginx systems need and this machine lacks (Debian package names). */
export function missingNginx(): string[] {
  const out: string[] = [];
  if (!existsSync(NGINX_BIN)) out.push('nginx');
  if (!existsSync(NJS_MODULE)) out.push('libnginx-mod-http-js');
  return out;
}

function commonHead(dir: string, port: number): string {
  return `worker_processes 1;
user root;
error_log ${dir}/error.log error;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000; keepalive_timeout 65s;
  client_max_body_size 1m; client_body_buffer_size 1m;
  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on;
  server_tokens off;
`;
}

function bareConfig(dir: string, port: number, upstream: URL): string {
  return `${commonHead(dir, port)}
  upstream backend { server ${upstream.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location /github/ { proxy_pass http://backend/; }
    location /tools/ { proxy_pass http://backend/; }
  }
}
`;
}

function opaConfig(dir: string, port: number, upstream: URL, opaPort: number): string {
  return `load_module ${NJS_MODULE};
${commonHead(dir, port)}
  js_path ${dir};
  js_import authz from authz.js;
  upstream backend { server ${upstream.host}; keepalive 64; }
  upstream opa { server 127.0.0.1:${opaPort}; keepalive 64; }
  # Only the agent's POSTs: the njs subrequests (/_opa, /_up/) are POSTs too.
  map "$request_method:$uri" $to_body { volatile; "~^POST:/(github|tools)/" 1; default 0; }
  map $authz_lane $lane_credential { volatile; read "Bearer bench-read-credential"; write "Bearer bench-write-credential"; default ""; }
  server {
    listen 127.0.0.1:${port};
    set $authz_lane "";
    set $orig_method $request_method;
    # auth_request cannot see a request body: bodies go to the njs content handler.
    if ($to_body) { rewrite ^ /_body$uri last; }
    location /github/ {
      auth_request /_authz;
      auth_request_set $authz_lane $sent_http_x_warden_lane;
      proxy_set_header Authorization $lane_credential;
      proxy_pass http://backend/;
    }
    location /tools/ {
      auth_request /_authz;
      auth_request_set $authz_lane $sent_http_x_warden_lane;
      proxy_set_header Authorization $lane_credential;
      proxy_pass http://backend/;
    }
    location = /_authz { internal; js_content authz.check; }
    location /_body/ { internal; js_content authz.withBody; }
    location = /_opa {
      internal;
      proxy_set_header Content-Type application/json;
      proxy_pass http://opa/v1/data/warden/decision;
    }
    location /_up/ {
      internal;
      proxy_set_header Authorization $lane_credential;
      proxy_pass http://backend/;
    }
  }
}
`;
}

async function startNginx(name: string, dir: string, config: string, port: number): Promise<Started['procs'][number]> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  await writeFile(file, config);
  const proc = spawnProc(name, NGINX_BIN, ['-p', dir, '-c', file, '-g', 'daemon off;'], { tree: true });
  await waitHttp(`http://127.0.0.1:${port}/_health`, 15_000, true).catch((err: unknown) => {
    throw new Error(`${name} did not start: ${String(err)}\n${proc.stderr()}`);
  });
  return proc;
}

export async function startBareNginx(upstream: string, workDir: string): Promise<Started> {
  const port = await freePort();
  const dir = path.join(workDir, 'nginx-bare');
  const proc = await startNginx('nginx', dir, bareConfig(dir, port, new URL(upstream)), port);
  return { origin: `http://127.0.0.1:${port}`, procs: [proc] };
}

export async function startNginxOpa(upstream: string, workDir: string, regoDir: string): Promise<Started> {
  const opaBin = await ensureOpa({ quiet: true });
  const opaPort = await freePort();
  // OPA's decision log on (console), as a deployment that audits its decisions runs it.
  const opa = spawnProc('opa', opaBin, ['run', '--server', '--addr', `127.0.0.1:${opaPort}`, '--log-level', 'error', '--set', 'decision_logs.console=true', regoDir]);
  await waitHttp(`http://127.0.0.1:${opaPort}/health`);
  const port = await freePort();
  const dir = path.join(workDir, 'nginx-opa');
  await mkdir(dir, { recursive: true });
  await copyFile(AUTHZ, path.join(dir, 'authz.js'));
  const proc = await startNginx('nginx-opa', dir, opaConfig(dir, port, new URL(upstream), opaPort), port);
  return { origin: `http://127.0.0.1:${port}`, procs: [proc, opa] };
}
