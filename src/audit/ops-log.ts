// Warden's own operational log (start, reloads, failures), to stderr so it never mixes with a
// decision log on stdout.

import pino, { type Logger } from 'pino';

export function createOpsLogger(level: string): Logger {
  return pino({ level, base: { svc: 'warden' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
