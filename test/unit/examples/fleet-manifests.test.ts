// examples/fleet/ names the product's commands, config keys, ports, probe paths and mounted files:
// each must exist. The configs load with the real loader, the commands parse with the real CLI,
// the probe paths answer on a real Warden, and every port and path agrees with the mounted config.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseCommand } from '../../../src/cli/args.js';
import { HEAP_FLAGS } from '../../../src/heap-flags.js';
import { loadConfigText, type LoadedConfig } from '../../../src/config/load.js';
import { startWarden, type WardenHandle } from '../../helpers/warden.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const FLEET = resolve(ROOT, 'examples/fleet');
const read = (rel: string): string => readFileSync(resolve(FLEET, rel), 'utf8');

type Doc = Record<string, any>;
const compose = parse(read('compose.yaml'), { merge: true }) as Doc;
const k8s = Object.fromEntries(['redis', 'control-plane', 'agent-pod'].map((n) => [n, parseAllDocuments(read(`k8s/${n}.yaml`)).map((d) => d.toJS({ maxAliasCount: -1 }) as Doc)]));
const ofKind = (file: string, kind: string): Doc[] => k8s[file]!.filter((d) => d.kind === kind);

/** The values the configs' `${env:...}` references get in the test; the manifests must provide each. */
const ENV: Record<string, string> = {
  WARDEN_ADMIN_TOKEN: 'fleet-example-admin-token-0123456789',
  WARDEN_REDIS_URL: 'redis://127.0.0.1:6379/0',
  GITHUB_READ_TOKEN: 'ghp_fleet_example_read',
  GITHUB_WRITE_TOKEN: 'ghp_fleet_example_write',
};
const CONFIG_DIR = '/etc/warden';
const CONFIGS = { run: 'sidecar.yaml', control: 'control.yaml' } as const;
type Role = keyof typeof CONFIGS;

const envRefs = (text: string): string[] => [...text.matchAll(/\$\{env:([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
const port = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

const saved: Record<string, string | undefined> = {};
const loaded = {} as Record<Role, LoadedConfig>;
beforeAll(() => {
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  for (const role of Object.keys(CONFIGS) as Role[]) loaded[role] = loadConfigText(read(CONFIGS[role]), CONFIG_DIR);
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** The Warden command of a container: `[run|control, --config, PATH]`, parsed by the real CLI. */
function wardenCommand(argv: string[]): { role: Role; config: string } {
  const cmd = parseCommand(argv) as { kind: string; config?: string };
  expect(['run', 'control']).toContain(cmd.kind);
  expect(cmd.config).toMatch(/^\//);
  return { role: cmd.kind as Role, config: cmd.config! };
}

describe('examples/fleet configs', () => {
  it('load with the real loader: Redis store, secrets from the environment, the image\'s bundle', () => {
    for (const role of Object.keys(CONFIGS) as Role[]) {
      const { config, secrets } = loaded[role];
      expect(config.store.kind).toBe('redis');
      expect(config.store.prefix).toBe('warden:');
      expect(config.store.max_staleness).toBe(1000);
      expect(config.store.url).toBe('${env:WARDEN_REDIS_URL}');
      expect(config.admin.token).toBe('${env:WARDEN_ADMIN_TOKEN}');
      expect(secrets.adminToken).toBe(ENV.WARDEN_ADMIN_TOKEN);
      expect(port(config.admin.listen)).toBe(8181);
      expect(config.admin.listen.startsWith('0.0.0.0:')).toBe(true); // probed from outside the container
      // The Dockerfile copies the repository to /app: the bundle must be in the repository.
      expect(config.policy.bundle.startsWith('/app/')).toBe(true);
      expect(() => readFileSync(resolve(ROOT, config.policy.bundle.slice('/app/'.length)))).not.toThrow();
    }
    expect(loaded.run.config.listen).toBe('127.0.0.1:8080'); // the pod's loopback: only its agent
  });

  it('have their ConfigMap copies unchanged in the Kubernetes manifests', () => {
    expect(ofKind('agent-pod', 'ConfigMap')[0]!.data).toEqual({ 'sidecar.yaml': read('sidecar.yaml') });
    expect(ofKind('control-plane', 'ConfigMap')[0]!.data).toEqual({ 'control.yaml': read('control.yaml') });
  });
});

describe('examples/fleet probe paths', () => {
  let w: WardenHandle;
  beforeAll(async () => {
    w = await startWarden();
  });
  afterAll(async () => {
    await w.close();
  });

  it('are the liveness and readiness routes a real Warden serves without a token', async () => {
    const paths = new Set<string>();
    for (const file of ['control-plane', 'agent-pod']) {
      for (const dep of ofKind(file, 'Deployment')) {
        for (const c of dep.spec.template.spec.containers.filter((c: Doc) => c.image === 'warden:dev')) {
          expect(c.livenessProbe.httpGet.path).toBe('/health');
          expect(c.readinessProbe.httpGet.path).toBe('/ready');
          paths.add(c.livenessProbe.httpGet.path).add(c.readinessProbe.httpGet.path);
        }
      }
    }
    for (const svc of Object.values(compose.services as Record<string, Doc>).filter((s) => s.image === 'warden:dev')) {
      const url = /fetch\('(http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+))'\)/.exec(svc.healthcheck.test.join(' '));
      expect(url).not.toBeNull();
      paths.add(url![3]!);
    }
    expect([...paths].sort()).toEqual(['/health', '/ready']);
    for (const path of paths) expect((await fetch(`${w.adminUrl}${path}`)).status).toBe(200);
  });
});

describe('examples/fleet/compose.yaml', () => {
  const services = compose.services as Record<string, Doc>;
  const warden = Object.entries(services).filter(([, s]) => s.image === 'warden:dev');

  it('runs Redis with AOF, one control plane and two agent + sidecar pairs', () => {
    expect(services.redis!.command.join(' ')).toContain('--appendonly yes');
    expect(services.redis!.command.join(' ')).toContain('--appendfsync always');
    const roles = warden.map(([, s]) => wardenCommand(s.command).role).sort();
    expect(roles).toEqual(['control', 'run', 'run']);
    const agents = Object.entries(services).filter(([, s]) => typeof s.network_mode === 'string');
    expect(agents.map(([, s]) => s.network_mode).sort()).toEqual(['service:sidecar-a', 'service:sidecar-b']);
    for (const [, agent] of agents) {
      const sidecar = services[agent.network_mode.slice('service:'.length)]!;
      expect(wardenCommand(sidecar.command).role).toBe('run');
      expect(port(new URL(agent.environment.WARDEN_URL).host)).toBe(port(loaded.run.config.listen));
    }
  });

  it('mounts the config that --config names, gives it every variable it references and probes its admin port', () => {
    for (const [name, s] of warden) {
      const { role, config } = wardenCommand(s.command);
      expect(s.build.dockerfile, name).toBe('examples/fleet/Dockerfile');
      expect(s.volumes, name).toContain(`./${CONFIGS[role]}:${config}:ro`);
      expect(config).toBe(`${CONFIG_DIR}/${CONFIGS[role]}`);
      for (const v of envRefs(read(CONFIGS[role]))) expect(Object.keys(s.environment), `${name} ${v}`).toContain(v);
      const redis = new URL(s.environment.WARDEN_REDIS_URL);
      expect(services[redis.hostname]?.image, name).toBe('redis:7');
      expect(redis.port).toBe('6379');
      const admin = port(loaded[role].config.admin.listen);
      expect(s.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${admin}/`);
      for (const p of s.ports ?? []) expect(port(p)).toBe(admin);
    }
  });
});

describe('examples/fleet/k8s', () => {
  it('runs Redis as a StatefulSet with AOF on a volume, behind the Service the Redis URL names', () => {
    const [sts] = ofKind('redis', 'StatefulSet');
    const c = sts!.spec.template.spec.containers[0];
    expect(c.args.join(' ')).toContain('--appendonly yes');
    expect(c.args.join(' ')).toContain('--appendfsync always');
    expect(c.volumeMounts[0].name).toBe(sts!.spec.volumeClaimTemplates[0].metadata.name);
    const [svc] = ofKind('redis', 'Service');
    const url = new URL(/redis-url=(\S+)/.exec(read('README.md'))![1]!);
    expect(url.hostname).toBe(svc!.metadata.name);
    expect(Number(url.port)).toBe(svc!.spec.ports[0].port);
  });

  for (const [file, role] of [['control-plane', 'control'], ['agent-pod', 'run']] as const) {
    it(`${file}.yaml: ${role} on the mounted ConfigMap, env from Secrets, probes and ports on the config's admin port`, () => {
      const [dep] = ofKind(file, 'Deployment');
      const spec = dep!.spec.template.spec;
      const c = spec.containers.find((x: Doc) => x.image === 'warden:dev');
      const cmd = wardenCommand(c.args);
      expect(cmd.role).toBe(role);
      // --config names a file of a mounted ConfigMap volume that holds this role's config
      const mount = c.volumeMounts.find((m: Doc) => cmd.config.startsWith(`${m.mountPath}/`));
      const volume = spec.volumes.find((v: Doc) => v.name === mount.name);
      const [cm] = ofKind(file, 'ConfigMap');
      expect(volume.configMap.name).toBe(cm!.metadata.name);
      expect(cm!.data[cmd.config.slice(mount.mountPath.length + 1)]).toBe(read(CONFIGS[role]));
      // every ${env:...} of the config comes from a Secret, never a literal
      const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e]));
      for (const v of envRefs(read(CONFIGS[role]))) expect(env[v]?.valueFrom?.secretKeyRef?.name, v).toMatch(/^[a-z-]+$/);
      const admin = port(loaded[role].config.admin.listen);
      expect(c.livenessProbe.httpGet.port).toBe(admin);
      expect(c.readinessProbe.httpGet.port).toBe(admin);
      expect(c.ports.map((p: Doc) => p.containerPort)).toEqual([admin]);
      for (const svc of ofKind(file, 'Service')) expect(svc.spec.ports.map((p: Doc) => p.targetPort)).toEqual([admin]);
      for (const agent of spec.containers.filter((x: Doc) => x !== c)) {
        const url = agent.env.find((e: Doc) => e.name === 'WARDEN_URL').value;
        expect(port(new URL(url).host)).toBe(port(loaded.run.config.listen));
      }
    });
  }
});

describe('examples/fleet/Dockerfile', () => {
  it('builds with npm ci and npm run build and runs the CLI entry the package names', () => {
    const text = read('Dockerfile');
    expect(text).toMatch(/RUN npm ci\n/);
    expect(text).toContain('RUN npm run build');
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.warden).toBe('dist/src/main.js');
    expect(text).toContain(`ENTRYPOINT ${JSON.stringify(['node', ...HEAP_FLAGS, 'dist/src/main.js'])}`.replaceAll('","', '", "'));
    expect(() => readFileSync(resolve(ROOT, 'src/main.ts'))).not.toThrow();
    expect(text).toContain('WORKDIR /app');
  });
});
