// Preloaded (`--import`) into every Node system under test, Warden included, so that none of them
// needs bench code of its own: answers `{type: 'usage'}` IPC messages with the process's CPU time
// and memory. RSS is also sampled every 100 ms, so the peak of one round can be told apart from
// the lifetime peak (`maxRSS`, which includes start-up).

interface UsageAsk {
  type: 'usage';
  id: number;
  /** Start a new peak window after answering. */
  reset?: boolean;
}

export interface UsageReport {
  type: 'usage';
  id: number;
  pid: number;
  /** user + system CPU time since the process started, µs. */
  cpuUs: number;
  rss: number;
  /** Highest sampled RSS since the last reset, bytes. */
  peakRss: number;
  /** Lifetime peak RSS from the kernel, bytes. */
  maxRss: number;
  heapUsed: number;
  heapTotal: number;
  /** Memory of C++ objects bound to JS (Buffers, wasm memory, ...), bytes. */
  external: number;
  arrayBuffers: number;
}

if (process.send) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, 100);
  timer.unref();
  process.on('message', (m: unknown) => {
    const ask = m as Partial<UsageAsk> | null;
    if (!ask || ask.type !== 'usage' || typeof ask.id !== 'number') return;
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const rss = mem.rss;
    if (rss > peak) peak = rss;
    const report: UsageReport = {
      type: 'usage', id: ask.id, pid: process.pid, cpuUs: cpu.user + cpu.system, rss, peakRss: peak,
      maxRss: process.resourceUsage().maxRSS * 1024, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal,
      external: mem.external, arrayBuffers: mem.arrayBuffers,
    };
    process.send!(report);
    if (ask.reset) peak = rss;
  });
}
