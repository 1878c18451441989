// The worker of shipping.ts: the decision-log shipper (log-shipper.ts) in a thread of its own.
// Encoding each line into the batch, the completions of gzip and the uploads cost the proxy's main
// thread several µs a request, 6–10 % of its throughput at saturation (bench/HISTORY.md, issue
// 14); here they cost it nothing. The main thread writes each line's bytes into a ring they share
// (service/spsc-ring.ts); this thread drains it on its own timer (at once when the main thread
// finds it half full), copies the lines into its batches, and reports back what was shipped,
// dropped and is buffered. It runs at SCHED_IDLE, on what the cores have to spare; when it falls
// behind, the main thread gives it SCHED_OTHER (at nice 10) back, and it takes SCHED_IDLE again
// once it has kept up for a while.

import { Buffer } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { SecretTemplate, type SecretTemplateSource } from '../config/secrets.js';
import type { ErrorCode } from '../errors.js';
import { RingReader } from '../service/spsc-ring.js';
import { enterIdle, runInBackground, type Background } from '../service/thread.js';
import { LogShipper, type LogShipperOptions } from './log-shipper.js';

/** What shipping.ts gives the thread: the options, and the bearer token as its template. */
export interface ShipThreadData {
  readonly options: Omit<LogShipperOptions, 'token'>;
  readonly token: SecretTemplateSource | undefined;
  /** Where the main thread writes the lines, one record each. */
  readonly ring: SharedArrayBuffer;
  /** How often the ring is drained. */
  readonly drainMs: number;
  /** How long the thread keeps up, once raised, before it takes SCHED_IDLE again (LOWER_AFTER_MS). */
  readonly lowerAfterMs?: number;
}

/** Messages of the main thread. */
export type ShipThreadCommand =
  | { readonly type: 'start' }
  /** The ring is half full: drain it now. */
  | { readonly type: 'drain' }
  /** A line too large for the ring, on its own. */
  | { readonly type: 'line'; readonly bytes: ArrayBuffer }
  /** The thread was behind at SCHED_IDLE and has been given SCHED_OTHER back (service/thread.ts, leaveIdle). */
  | { readonly type: 'raised' }
  | { readonly type: 'close'; readonly drainMs: number };

/** Messages of this thread: counts since the last report and the buffer now; `closed` after close. */
export type ShipThreadReport =
  | { readonly type: 'report'; readonly shipped: number; readonly dropped: number; readonly bufferedBytes: number; readonly bufferedEvents: number; readonly failed?: { readonly code: ErrorCode; readonly detail: string } }
  /** The thread runs at SCHED_IDLE, set by `chrt`: the main thread raises it when it falls behind. */
  | ({ readonly type: 'idle' } & Required<Background>)
  /** The thread, raised, has kept up and taken SCHED_IDLE again. */
  | { readonly type: 'lowered' }
  | { readonly type: 'closed' };

/** Counts and the buffer's size go to the main thread at most this long after they change. */
const REPORT_EVERY_MS = 200;

/**
 * A raised thread takes SCHED_IDLE again once no drain has found the ring an eighth full for this
 * long; raised again within that time of it, it waits twice as long the next time (at most
 * MAX_LOWER_AFTER_MS). Each raise costs the request path a fork of the process (about 2 ms): on a
 * host whose cores stay busy, that is one every few minutes at most.
 */
const LOWER_AFTER_MS = 10_000;
const MAX_LOWER_AFTER_MS = 320_000;

const port = parentPort!;
const { options, token, ring, drainMs, lowerAfterMs = LOWER_AFTER_MS } = workerData as ShipThreadData;
// SCHED_IDLE: the thread's work (two thirds of it gzip) then uses what the cores have to spare. At
// nice 10 it still drew the agent's and the upstream's threads onto the request path's core
// (bench/HISTORY.md, issue 14, eighteenth session).
const background = runInBackground({ idle: true });
const idle: Required<Background> | undefined = background?.chrt === undefined ? undefined : { tid: background.tid, chrt: background.chrt };
if (idle) port.postMessage({ type: 'idle', ...idle } satisfies ShipThreadReport);
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

const lines = new RingReader(ring);
/** Bytes of the records the current drain has read. */
let drained = 0;
/** A record: its line's skip (shipping.ts, lineSkip), then the line. */
const each = (at: number, n: number): void => {
  drained += n;
  shipper.pushBytes(lines.bytes, at + lines.bytes[at]!, at + n);
};
/** Hands the lines in the ring to the shipper. */
function drain(): void {
  drained = 0;
  if (lines.drain(each) > 0) changed();
  if (raisedAt !== undefined) keptUp(drained < lines.capacity >> 3);
}

/** When the thread was last raised or last found the ring an eighth full, while raised. */
let raisedAt: number | undefined;
let lowerAfter = lowerAfterMs;
let loweredAt = -Infinity;

function raised(): void {
  const now = Date.now();
  // Raised again soon after it was lowered: the cores are still busy.
  lowerAfter = now - loweredAt < lowerAfter ? Math.min(lowerAfter * 2, MAX_LOWER_AFTER_MS) : lowerAfterMs;
  raisedAt = now;
}

/** After a raised thread's drain: back to SCHED_IDLE once it has kept up for `lowerAfter`. */
function keptUp(calm: boolean): void {
  const now = Date.now();
  if (!calm) raisedAt = now;
  else if (idle && now - raisedAt! >= lowerAfter) {
    raisedAt = undefined;
    // Where chrt fails now, the thread keeps SCHED_OTHER, and the main thread, not told, leaves it so.
    if (enterIdle(idle.tid, [idle.chrt]) === undefined) return;
    loweredAt = now;
    port.postMessage({ type: 'lowered' } satisfies ShipThreadReport);
  }
}
const drainTimer = setInterval(drain, drainMs);

port.on('message', (m: ShipThreadCommand) => {
  switch (m.type) {
    case 'start':
      shipper.start();
      return;
    case 'drain':
      drain();
      return;
    case 'raised':
      raised();
      return;
    case 'line':
      // The lines before it first (those the ring held when it was posted, and any since).
      drain();
      shipper.pushBytes(Buffer.from(m.bytes), 0, m.bytes.byteLength);
      changed();
      return;
    case 'close':
      clearInterval(drainTimer);
      drain();
      void shipper.close(m.drainMs).then(() => {
        report();
        port.postMessage({ type: 'closed' } satisfies ShipThreadReport);
      });
      return;
  }
});
