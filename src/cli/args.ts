// Command-line parsing for `warden run` and `warden eval` (DESIGN.md "Command line").

import { parseArgs } from 'node:util';

export const USAGE = {
  main: `Usage: warden <command> [options]

Commands:
  run    start the sidecar (proxy and admin listeners)
  control  start the control plane of a fleet (admin API and console over the shared store)
  eval   evaluate one policy input and print the decision as JSON
  audit  verify the decision log's hash chain, or trace one task's timeline
  store  migrate a single Warden's state into a fleet's Redis
  replay re-evaluate a recorded decision log under a candidate policy bundle

Run 'warden <command> --help' for the options of a command.`,
  run: `Usage: warden run --config FILE [--listen HOST:PORT] [--admin-listen HOST:PORT]

Start the sidecar on the configuration FILE (YAML). SIGTERM or SIGINT drains and stops it;
SIGHUP reloads the policy bundle at once; SIGHUP and SIGUSR2 reopen the decision-log
file (logrotate: rename, then signal).

Options:
  --config FILE              configuration file (required)
  --listen HOST:PORT         proxy listener, overrides 'listen'
  --admin-listen HOST:PORT   admin listener, overrides 'admin.listen'
  -h, --help                 show this help`,
  control: `Usage: warden control --config FILE [--admin-listen HOST:PORT]

Start the control plane of a fleet: the admin API and the console over the shared store
(store.kind: redis), no proxy listener. Tasks created here verify on every sidecar: the control
plane publishes its task-signing public key in the store. SIGTERM or SIGINT stops it.

Options:
  --config FILE              configuration file (required; store.kind must be redis)
  --admin-listen HOST:PORT   admin listener, overrides 'admin.listen'
  -h, --help                 show this help`,
  eval: `Usage: warden eval --config FILE --input FILE

Evaluate the policy of the configuration on one input (JSON, the policy input of the README;
'time' is filled in when absent) and print {result, revision} as JSON.
Exit status: 0 allow, 2 deny, 3 step_up, 1 error.

Options:
  --config FILE   configuration file (required)
  --input FILE    policy input as JSON, or - for standard input (required)
  -h, --help      show this help`,
  audit: `Usage: warden audit verify [--key PUBKEY] [--partial] FILE...
       warden audit trace --task ID [--format text|json|html] FILE...

verify: check the hash chain through the decision-log FILEs (oldest first: rotated files, then
the current one). With --key (the Ed25519 public key of decision_log.checkpoints, PEM) the signed
checkpoints are checked too, so a rewritten log or a cut tail is found. --partial accepts a first
line that continues a file not given. Exit status: 0 intact, 1 broken (the first bad line is named).

trace: the timeline of task ID: every call with its decision, reason and lane, approvals, stage and
risk changes, revocation. html is one self-contained page. Exit status: 0, 1 when the task is absent.`,
  store: `Usage: warden store migrate --from sqlite --to redis --config FILE [--state-dir DIR]

Copy the state of a single Warden (its SQLite database and generated task key in state_dir) into
the Redis of a fleet: agents, tasks with their revocations and call counts, approvals in their
state, just-in-time credentials, tool pins, and the task key's public half (its tokens keep
verifying until they expire). Records Redis holds already are left as they are (a revocation is
carried over), so the command can be run again. Stop the single Warden first.

Options:
  --from sqlite       the source kind (only sqlite)
  --to redis          the target kind (only redis)
  --config FILE       the fleet's configuration (store.kind: redis; its url and prefix)
  --state-dir DIR     the single Warden's state_dir (default: the configuration's state_dir)
  -h, --help          show this help`,
  replay: `Usage: warden replay --config FILE --bundle CANDIDATE LOG...

Re-evaluate every decision recorded in the LOG files under the CANDIDATE bundle (the policy
settings of the configuration FILE) and print the decisions that change: from → to, counts per
reason, example decision ids. Inputs with masked or truncated fields are reported as not
replayable. Exit status: 0 none changed, 1 some changed, 2 error.`,
} as const;

export type Command =
  | { kind: 'help'; text: string }
  | { kind: 'run'; config: string; listen?: string; adminListen?: string }
  | { kind: 'control'; config: string; adminListen?: string }
  | { kind: 'eval'; config: string; input: string }
  | { kind: 'audit-verify'; files: string[]; key?: string; partial: boolean }
  | { kind: 'audit-trace'; files: string[]; task: string; format: 'text' | 'json' | 'html' }
  | { kind: 'replay'; config: string; bundle: string; files: string[] }
  | { kind: 'store-migrate'; from: string; to: string; config: string; stateDir?: string };

export class UsageError extends Error {}

export function parseCommand(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') return { kind: 'help', text: USAGE.main };
  if (command === 'run') {
    const { values } = parseArgs({ args: [...rest], options: { config: { type: 'string' }, listen: { type: 'string' }, 'admin-listen': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return { kind: 'help', text: USAGE.run };
    if (!values.config) throw new UsageError(`--config is required\n\n${USAGE.run}`);
    return { kind: 'run', config: values.config, ...(values.listen && { listen: values.listen }), ...(values['admin-listen'] && { adminListen: values['admin-listen'] }) };
  }
  if (command === 'control') {
    const { values } = parseArgs({ args: [...rest], options: { config: { type: 'string' }, 'admin-listen': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return { kind: 'help', text: USAGE.control };
    if (!values.config) throw new UsageError(`--config is required\n\n${USAGE.control}`);
    return { kind: 'control', config: values.config, ...(values['admin-listen'] && { adminListen: values['admin-listen'] }) };
  }
  if (command === 'eval') {
    const { values } = parseArgs({ args: [...rest], options: { config: { type: 'string' }, input: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return { kind: 'help', text: USAGE.eval };
    if (!values.config || !values.input) throw new UsageError(`--config and --input are required\n\n${USAGE.eval}`);
    return { kind: 'eval', config: values.config, input: values.input };
  }
  if (command === 'audit') return parseAudit(rest);
  if (command === 'store') return parseStore(rest);
  if (command === 'replay') {
    const { values, positionals } = parseArgs({ args: [...rest], options: { config: { type: 'string' }, bundle: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (values.help) return { kind: 'help', text: USAGE.replay };
    if (!values.config || !values.bundle || positionals.length === 0) throw new UsageError(`--config, --bundle and at least one LOG are required\n\n${USAGE.replay}`);
    return { kind: 'replay', config: values.config, bundle: values.bundle, files: positionals };
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE.main}`);
}

function parseAudit(argv: readonly string[]): Command {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help') return { kind: 'help', text: USAGE.audit };
  if (sub === 'verify') {
    const { values, positionals } = parseArgs({ args: [...rest], options: { key: { type: 'string' }, partial: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (values.help) return { kind: 'help', text: USAGE.audit };
    if (positionals.length === 0) throw new UsageError(`at least one FILE is required\n\n${USAGE.audit}`);
    return { kind: 'audit-verify', files: positionals, ...(values.key && { key: values.key }), partial: values.partial === true };
  }
  if (sub === 'trace') {
    const { values, positionals } = parseArgs({ args: [...rest], options: { task: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (values.help) return { kind: 'help', text: USAGE.audit };
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json' && format !== 'html') throw new UsageError(`--format must be text, json or html\n\n${USAGE.audit}`);
    if (!values.task || positionals.length === 0) throw new UsageError(`--task and at least one FILE are required\n\n${USAGE.audit}`);
    return { kind: 'audit-trace', files: positionals, task: values.task, format };
  }
  throw new UsageError(`unknown audit command ${JSON.stringify(sub)}\n\n${USAGE.audit}`);
}

function parseStore(argv: readonly string[]): Command {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help') return { kind: 'help', text: USAGE.store };
  if (sub !== 'migrate') throw new UsageError(`unknown store command ${JSON.stringify(sub)}\n\n${USAGE.store}`);
  const { values } = parseArgs({ args: [...rest], options: { from: { type: 'string' }, to: { type: 'string' }, config: { type: 'string' }, 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return { kind: 'help', text: USAGE.store };
  if (!values.from || !values.to || !values.config) throw new UsageError(`--from, --to and --config are required\n\n${USAGE.store}`);
  return { kind: 'store-migrate', from: values.from, to: values.to, config: values.config, ...(values['state-dir'] && { stateDir: values['state-dir'] }) };
}
