// Wiring of `decision_log.service`: the shipper, its metrics and its operational log lines.

import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { LoadedConfig } from '../config/load.js';
import { LogShipper } from './log-shipper.js';

/** Failed uploads are logged at most this often (a dead collector must not flood stderr). */
const FAILURE_LOG_EVERY_MS = 10_000;

export function createLogShipper(loaded: LoadedConfig, metrics: Metrics, ops: Logger): LogShipper | undefined {
  const svc = loaded.config.decision_log.service;
  if (!svc) return undefined;
  const token = loaded.services.logToken;
  let lastFailureLog = 0;
  let droppedSinceLog = 0;
  const shipper = new LogShipper(
    {
      url: svc.url,
      ...(token && { token: () => token.resolve() }),
      minDelayMs: svc.min_delay,
      maxDelayMs: svc.max_delay,
      maxBufferBytes: svc.max_buffer_bytes,
      maxUploadBytes: svc.max_upload_bytes,
      timeoutMs: svc.timeout,
    },
    {
      shipped: (n) => metrics.logShipped.inc(n),
      dropped: (n) => {
        metrics.logDropped.inc(n);
        metrics.errors.inc({ code: 'AUDIT_BUFFER_FULL' }, n);
        droppedSinceLog += n;
      },
      failed: (err) => {
        metrics.logUploadFailures.inc();
        const now = Date.now();
        if (now - lastFailureLog < FAILURE_LOG_EVERY_MS) return;
        lastFailureLog = now;
        ops.warn({ code: err.code, detail: err.detail, buffered_bytes: shipper.stats.bufferedBytes, dropped: droppedSinceLog }, 'decision-log upload failed; retrying with backoff');
        droppedSinceLog = 0;
      },
    },
  );
  metrics.sampleLogBuffer(() => shipper.stats.bufferedBytes);
  return shipper;
}
