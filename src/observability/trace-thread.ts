// The trace thread (started by tracing.ts): drains the ring the request path packs traced requests
// into, on its own timer (or at once when the request path finds the ring half full), encodes and
// exports them (trace-exporter.ts), and on `close` exports what is left and answers `closed`.

import { parentPort, workerData } from 'node:worker_threads';
import { RingReader } from '../service/spsc-ring.js';
import { runInBackground } from '../service/thread.js';
import { TraceExporter, type ExporterOptions } from './trace-exporter.js';

/** What tracing.ts gives the thread. */
export interface TraceThreadData {
  readonly exporter: ExporterOptions;
  readonly ring: SharedArrayBuffer;
  /** How often the ring is drained. */
  readonly drainMs: number;
}

/** Messages to the thread. */
export type ToTraceThread = { readonly type: 'drain' } | { readonly type: 'close' };

runInBackground({ idle: true });
const data = workerData as TraceThreadData;
const exporter = new TraceExporter(data.exporter, new RingReader(data.ring));
const timer = setInterval(() => exporter.drain(), data.drainMs);
const port = parentPort!;

port.on('message', (m: ToTraceThread) => {
  if (m.type === 'drain') {
    exporter.drain();
    return;
  }
  clearInterval(timer);
  void exporter.close().finally(() => {
    port.postMessage({ type: 'closed' });
    port.close();
  });
});
