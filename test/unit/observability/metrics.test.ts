import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/observability/metrics.js';

describe('Metrics', () => {
  it('renders Warden\'s metrics in Prometheus text with their types', async () => {
    const m = new Metrics();
    m.requests.inc({ decision: 'deny', status: '403', upstream: 'github' });
    m.requests.inc({ decision: 'deny', status: '403', upstream: 'github' });
    m.errors.inc({ code: 'POLICY_DENIED' });
    m.bundleLoads.inc({ result: 'ok' });
    m.approvals.inc({ event: 'approval.granted' });
    const text = await m.render();
    expect(text).toContain('# TYPE warden_requests_total counter\nwarden_requests_total{decision="deny",status="403",upstream="github"} 2\n');
    expect(text).toContain('# TYPE warden_errors_total counter\nwarden_errors_total{code="POLICY_DENIED"} 1\n');
    expect(text).toContain('# TYPE warden_bundle_loads_total counter\nwarden_bundle_loads_total{result="ok"} 1\n');
    expect(text).toContain('# TYPE warden_approvals_total counter\nwarden_approvals_total{event="approval.granted"} 1\n');
    expect(m.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('reads the held requests at each scrape from the sampler the composition root sets', async () => {
    const m = new Metrics();
    expect(await m.render()).toContain('# TYPE warden_approval_held_requests gauge\nwarden_approval_held_requests 0\n');
    let held = 3;
    m.sampleHeld(() => held);
    expect(await m.render()).toContain('\nwarden_approval_held_requests 3\n');
    held = 0;
    expect(await m.render()).toContain('\nwarden_approval_held_requests 0\n');
  });

  it('counts policy evaluations in a seconds histogram with buckets from 10 µs to 50 ms', async () => {
    const m = new Metrics();
    m.evalSeconds.observe(0.000012);
    m.evalSeconds.observe(0.002);
    const text = await m.render();
    expect(text).toContain('# TYPE warden_policy_eval_duration_seconds histogram\n');
    expect(text).toContain('warden_policy_eval_duration_seconds_bucket{le="0.00001"} 0\nwarden_policy_eval_duration_seconds_bucket{le="0.000025"} 1\n');
    expect(text).toContain('warden_policy_eval_duration_seconds_bucket{le="0.0025"} 2\n');
    expect(text).toContain('warden_policy_eval_duration_seconds_bucket{le="0.05"} 2\nwarden_policy_eval_duration_seconds_bucket{le="+Inf"} 2\n');
    expect(text).toContain('warden_policy_eval_duration_seconds_count 2\n');
  });

  it('shows only the live bundle revision', async () => {
    const m = new Metrics();
    m.revision('rev-1');
    m.revision('rev-2');
    const text = await m.render();
    expect(text).toContain('warden_bundle_info{revision="rev-2"} 1\n');
    expect(text).not.toContain('rev-1');
  });

  it('keeps each sidecar\'s counts apart (one registry per instance)', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.errors.inc({ code: 'INTERNAL' });
    expect(await a.render()).toContain('warden_errors_total{code="INTERNAL"} 1\n');
    expect(await b.render()).not.toContain('warden_errors_total{code="INTERNAL"}');
  });

  it('shows the process metrics once per scrape', async () => {
    const text = await new Metrics().render();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      expect(text.match(new RegExp(`^# TYPE ${name} `, 'gm'))).toHaveLength(1);
    }
  });
});
