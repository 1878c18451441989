// The trace thread (started by tracing.ts): unpacks the batches the request path posts, encodes
// and exports them (trace-exporter.ts), and on `close` exports what is left and answers `closed`.

import { TraceState } from '@opentelemetry/core';
import { parentPort, workerData } from 'node:worker_threads';
import { TraceExporter, type ExporterOptions } from './trace-exporter.js';
import { unpack, type PackedBatch } from './trace-pack.js';

/** Messages to the thread. */
export type ToTraceThread = { readonly type: 'batch'; readonly batch: PackedBatch } | { readonly type: 'close' };

const exporter = new TraceExporter(workerData as ExporterOptions);
// tracestate is passed on as the W3C rules keep it (invalid members dropped).
const traceState = (raw: string): string | undefined => new TraceState(raw).serialize() || undefined;
const port = parentPort!;

port.on('message', (m: ToTraceThread) => {
  if (m.type === 'batch') {
    for (const r of unpack(m.batch, traceState)) {
      try {
        exporter.add(r);
      } catch {
        // A request that cannot be encoded costs its trace, never the others.
      }
    }
    return;
  }
  void exporter.close().finally(() => {
    port.postMessage({ type: 'closed' });
    port.close();
  });
});
