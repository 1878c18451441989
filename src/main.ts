#!/usr/bin/env -S node --no-allocation-site-pretenuring --no-memory-reducer --max-semi-space-size=8
// Process entry: parse arguments, load config, start, handle signals. Nothing else. Each command
// imports what it needs when it runs, so that `warden audit verify` does not load the proxy, the
// policy engine, the metrics and the configuration schema it never uses (each child-process test
// and each CLI call pays for what is loaded). The shebang carries the V8 options of heap-flags.ts.

import type { CommandOutput } from './cli/audit.js';
import { UsageError, parseCommand } from './cli/args.js';
import { isWardenError } from './errors.js';

async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv);
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(`${cmd.text}\n`);
      return 0;
    case 'eval': {
      const { evalCommand } = await import('./cli/eval.js');
      const { output, exitCode } = await evalCommand(cmd.config, cmd.input);
      process.stdout.write(`${output}\n`);
      return exitCode;
    }
    case 'audit-verify': {
      const { verifyCommand } = await import('./cli/audit.js');
      return print(await verifyCommand(cmd.files, { ...(cmd.key !== undefined && { key: cmd.key }), partial: cmd.partial }));
    }
    case 'audit-trace': {
      const { traceCommand } = await import('./cli/audit.js');
      return print(await traceCommand(cmd.files, cmd.task, cmd.format));
    }
    case 'replay': {
      const { replayCommand } = await import('./cli/replay.js');
      return print(await replayCommand(cmd.config, cmd.bundle, cmd.files));
    }
    case 'store-migrate': {
      const { migrateCommand } = await import('./cli/store.js');
      return print(await migrateCommand(cmd));
    }
    case 'run':
    case 'control': {
      const heapFlags = (await import('./heap-flags.js')).applyHeapFlags();
      const [{ loadConfigIsolated }, { createOpsLogger }, { createSidecar }] = await Promise.all([import('./config/load-isolated.js'), import('./audit/ops-log.js'), import('./sidecar.js')]);
      const loaded = await loadConfigIsolated(cmd.config, { ...(cmd.kind === 'run' && cmd.listen && { listen: cmd.listen }), ...(cmd.adminListen && { adminListen: cmd.adminListen }) });
      const ops = createOpsLogger(loaded.config.decision_log.level);
      if (heapFlags.missing.length > 0) {
        ops.warn({ missing: heapFlags.missing }, 'V8 options missing from the node command line (they cannot be set after start; README "Command line")');
      }
      const sidecar = await createSidecar(loaded, { ops, role: cmd.kind === 'control' ? 'control' : 'sidecar' });
      const addrs = await sidecar.listen();
      ops.info({ proxy: addrs.proxy, admin: addrs.admin, revision: sidecar.revision() }, 'warden listening');
      await new Promise<void>((resolveStop) => {
        const stop = (signal: string): void => {
          ops.info({ signal }, 'shutting down');
          void sidecar.close().then(resolveStop, resolveStop);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // SIGHUP loads the bundle now, without waiting for the next poll (as OPA and Envoy reload),
        // and, as logrotate expects of either signal, reopens the decision log file.
        process.on('SIGHUP', () => {
          sidecar.reopenLogs();
          void sidecar.reloadPolicy();
        });
        process.on('SIGUSR2', () => sidecar.reopenLogs());
      });
      return 0;
    }
  }
}

function print(r: CommandOutput): number {
  process.stdout.write(`${r.output}\n`);
  return r.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n`);
    else if (isWardenError(err)) process.stderr.write(`warden: ${err.code}: ${err.message}\n`);
    else process.stderr.write(`warden: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 64 : 1;
  },
);
