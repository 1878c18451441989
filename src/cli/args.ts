// Command-line parsing for `warden run` and `warden eval` (DESIGN.md "Command line").

import { parseArgs } from 'node:util';

export const USAGE = {
  main: `Usage: warden <command> [options]

Commands:
  run    start the sidecar (proxy and admin listeners)
  eval   evaluate one policy input and print the decision as JSON

Run 'warden <command> --help' for the options of a command.`,
  run: `Usage: warden run --config FILE [--listen HOST:PORT] [--admin-listen HOST:PORT]

Start the sidecar on the configuration FILE (YAML). SIGTERM or SIGINT drains and stops it;
SIGHUP reloads the policy bundle at once.

Options:
  --config FILE              configuration file (required)
  --listen HOST:PORT         proxy listener, overrides 'listen'
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
} as const;

export type Command =
  | { kind: 'help'; text: string }
  | { kind: 'run'; config: string; listen?: string; adminListen?: string }
  | { kind: 'eval'; config: string; input: string };

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
  if (command === 'eval') {
    const { values } = parseArgs({ args: [...rest], options: { config: { type: 'string' }, input: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return { kind: 'help', text: USAGE.eval };
    if (!values.config || !values.input) throw new UsageError(`--config and --input are required\n\n${USAGE.eval}`);
    return { kind: 'eval', config: values.config, input: values.input };
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE.main}`);
}
