// BucketHistogram against prom-client's own Histogram: the same observations must render the same
// exposition text, in the Prometheus and the OpenMetrics formats, and the same JSON.

import { Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BucketHistogram } from '../../../src/observability/bucket-histogram.js';

const BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];

function pair(contentType?: RegistryContentType): { ours: BucketHistogram; theirs: Histogram; render: () => Promise<[string, string]>; json: () => Promise<[unknown, unknown]> } {
  const a = new Registry<RegistryContentType>();
  const b = new Registry<RegistryContentType>();
  if (contentType) for (const r of [a, b]) r.setContentType(contentType);
  const ours = new BucketHistogram('h_seconds', 'A histogram.', BUCKETS, a as Registry);
  const theirs = new Histogram({ name: 'h_seconds', help: 'A histogram.', buckets: BUCKETS, registers: [b as Registry] });
  return {
    ours,
    theirs,
    render: async () => [await a.metrics(), await b.metrics()],
    json: async () => [await a.getMetricsAsJSON(), await b.getMetricsAsJSON()],
  };
}

describe('BucketHistogram', () => {
  it('renders what prom-client renders for the same observations, on every bound and between them', async () => {
    for (const contentType of [undefined, Registry.OPENMETRICS_CONTENT_TYPE] as const) {
      const h = pair(contentType);
      const [empty, emptyTheirs] = await h.render();
      expect(empty).toBe(emptyTheirs);
      const values = [0, 0.000001, ...BUCKETS, ...BUCKETS.map((b) => b * 1.01), 0.2, 7, 0.0000123, 0.002];
      for (let i = 0; i < 500; i++) values.push(Math.random() ** 4 / 10);
      for (const v of values) {
        h.ours.observe(v);
        h.theirs.observe(v);
      }
      const [ours, theirs] = await h.render();
      expect(ours).toBe(theirs);
      expect(ours).toContain('h_seconds_count 5');
      const [jOurs, jTheirs] = await h.json();
      expect(jOurs).toEqual(jTheirs);
      h.ours.reset();
      h.theirs.reset();
      // prom-client's reset() forgets the series of an unlabelled histogram until the next observation.
      h.ours.observe(0.003);
      h.theirs.observe(0.003);
      const [afterReset, afterResetTheirs] = await h.render();
      expect(afterReset).toBe(afterResetTheirs);
    }
  });

  it('ignores a value that is not a finite number', async () => {
    const h = pair();
    h.ours.observe(Number.NaN);
    h.ours.observe(Number.POSITIVE_INFINITY);
    h.ours.observe(0.001);
    h.theirs.observe(0.001);
    const [ours, theirs] = await h.render();
    expect(ours).toBe(theirs);
  });
});
