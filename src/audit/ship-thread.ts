// The worker of shipping.ts: the decision-log shipper (log-shipper.ts) in a thread of its own.
// Encoding each line into the batch, the completions of gzip and the uploads cost the proxy's main
// thread several µs a request, 6–10 % of its throughput at saturation (bench/HISTORY.md, issue
// 14); here they cost it nothing. The main thread posts the lines' bytes, newline-separated, in
// an ArrayBuffer that it transfers; this thread copies them into its batches, gives the buffer
// back (`spare`), and reports back what was shipped, dropped and is buffered.

import { Buffer } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { SecretTemplate, type SecretTemplateSource } from '../config/secrets.js';
import type { ErrorCode } from '../errors.js';
import { LogShipper, type LogShipperOptions } from './log-shipper.js';

/** What shipping.ts gives the thread: the options, and the bearer token as its template. */
export interface ShipThreadData {
  readonly options: Omit<LogShipperOptions, 'token'>;
  readonly token: SecretTemplateSource | undefined;
}

/** Messages of the main thread. */
export type ShipThreadCommand =
  | { readonly type: 'start' }
  /** `length` bytes of `bytes` hold the lines, each followed by a newline (JSON lines have none inside). */
  | { readonly type: 'lines'; readonly bytes: ArrayBuffer; readonly length: number }
  | { readonly type: 'close'; readonly drainMs: number };

/** Messages of this thread: counts since the last report and the buffer now; `closed` after close. */
export type ShipThreadReport =
  | { readonly type: 'report'; readonly shipped: number; readonly dropped: number; readonly bufferedBytes: number; readonly bufferedEvents: number; readonly failed?: { readonly code: ErrorCode; readonly detail: string } }
  | { readonly type: 'closed' }
  /** The buffer of a `lines` message, read and given back for the next ones. */
  | { readonly type: 'spare'; readonly bytes: ArrayBuffer };

/** Counts and the buffer's size go to the main thread at most this long after they change. */
const REPORT_EVERY_MS = 200;

const port = parentPort!;
const { options, token } = workerData as ShipThreadData;
// Made again from its template, a `${file:}` token is re-read here when the file changes, as it
// was in the main thread. `${env:}` reads this thread's environment, the process's at its start.
const secret = token && new SecretTemplate(token.template, token.baseDir, token.where);

let shipped = 0;
let dropped = 0;
let timer: NodeJS.Timeout | undefined;
/** Whether the last report said the buffer was empty. */
let reportedEmpty = true;

const shipper = new LogShipper(
  { ...options, ...(secret && { token: () => secret.resolve() }) },
  {
    shipped: (n) => {
      shipped += n;
      changed();
    },
    dropped: (n) => {
      dropped += n;
      changed();
    },
    failed: (err) => report({ code: err.code, detail: err.detail ?? '' }),
  },
);

function report(failed?: { code: ErrorCode; detail: string }): void {
  clearTimeout(timer);
  timer = undefined;
  const { bufferedBytes, bufferedEvents } = shipper.stats;
  const message: ShipThreadReport = { type: 'report', shipped, dropped, bufferedBytes, bufferedEvents, ...(failed && { failed }) };
  port.postMessage(message);
  shipped = dropped = 0;
  reportedEmpty = bufferedEvents === 0;
}

/**
 * Reports soon (coalescing the counts of several batches), or at once when the buffer turned empty
 * or stopped being so: the main thread's buffer gauge then says whether everything was
 * acknowledged, and the counts that emptied it come with it.
 */
function changed(): void {
  if ((shipper.stats.bufferedEvents === 0) !== reportedEmpty) report();
  else timer ??= setTimeout(report, REPORT_EVERY_MS);
}

port.on('message', (m: ShipThreadCommand) => {
  switch (m.type) {
    case 'start':
      shipper.start();
      return;
    case 'lines': {
      const bytes = Buffer.from(m.bytes, 0, m.length);
      for (let at = 0; at < m.length; ) {
        const end = bytes.indexOf(0x0a, at);
        // Every line ends with a newline; a buffer that breaks that is not read past it.
        if (end === -1) break;
        shipper.pushBytes(bytes, at, end);
        at = end + 1;
      }
      changed();
      port.postMessage({ type: 'spare', bytes: m.bytes } satisfies ShipThreadReport, [m.bytes]);
      return;
    }
    case 'close':
      void shipper.close(m.drainMs).then(() => {
        report();
        port.postMessage({ type: 'closed' } satisfies ShipThreadReport);
      });
      return;
  }
});
