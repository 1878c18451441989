// The parser of bench/perf-profile.ts: `perf report --sort dso,sym` text into parts and symbols.

import { describe, expect, it } from 'vitest';
import { parsePerfReport, partOf } from '../../../bench/perf-profile.js';

// Lines as perf 6.x prints them (a Warden under load, `node --perf-basic-prof`).
const REPORT = `# To display the perf.data header info, please use --header/--header-only options.
#
# Samples: 12K of event 'cpu-clock:pppH'
# Event count (approx.): 4019667420
#
# Overhead  Shared Object         Symbol
# ........  ....................  ......
#
     2.00%  [kernel.kallsyms]     [k] _raw_spin_unlock_irqrestore
     1.58%  [JIT] tid 20331       [.] JS:opa_value_hash-198-turbofan
     1.51%  node                  [.] v8::internal::String::WriteToFlat<unsigned char>
     1.20%  [JIT] tid 20331       [.] JS:opa_value_parse-75-liftoff
     0.76%  [JIT] tid 20331       [.] JS:*decide file:///work/main/dist/src/proxy/pipeline.js:20:29
     0.76%  [JIT] tid 20331       [.] JS:wasm-function[20]-20-turbofan
     0.66%  [JIT] tid 20331       [.] RegExp:[^\\x00-\\x7f]
     0.40%  [JIT] tid 20331       [.] JS:*nextTick node:internal/process/task_queues:103:18
     0.30%  [JIT] tid 20331       [.] JS:wasm-to-js:i:i
     0.70%  libc.so.6             [.] __memmove_avx512_unaligned_erms
     0.09%  better_sqlite3.node   [.] sqlite3VdbeExec
`;

describe('parsePerfReport', () => {
  it('sums the shares by part and lists the symbols, highest first', () => {
    const r = parsePerfReport(REPORT);
    const at = (p: Parameters<typeof r.parts.get>[0]): number => Number((r.parts.get(p) ?? 0).toFixed(4));
    expect(at('kernel')).toBe(0.02);
    expect(at('JIT: wasm')).toBe(0.0384); // opa_value_hash, opa_value_parse (Liftoff), llhttp, wasm-to-js
    expect(at('JIT: JavaScript and regular expressions')).toBe(0.0182); // decide, the RegExp, nextTick
    expect(at('V8 and Node (node binary)')).toBe(0.0151);
    expect(at('libc')).toBe(0.007);
    expect(at('other')).toBe(0.0009);
    expect(r.symbols.map((s) => s.sym).slice(0, 3)).toEqual(['_raw_spin_unlock_irqrestore', 'JS:opa_value_hash-198-turbofan', 'v8::internal::String::WriteToFlat<unsigned char>']);
    expect(r.symbols[1]).toMatchObject({ dso: '[JIT] tid 20331', share: 0.0158 });
    expect(r.symbols).toHaveLength(11);
  });

  it('reads nothing from headers, blank lines or text without a share', () => {
    expect(parsePerfReport('# Samples: 1K\n\nno samples\n').symbols).toEqual([]);
  });
});

describe('partOf', () => {
  it('tells JavaScript from wasm among the JIT code', () => {
    expect(partOf('[JIT] tid 1', 'JS:~handle file:///x.js:1:1', false)).toBe('JIT: JavaScript and regular expressions');
    expect(partOf('[JIT] tid 1', 'JS:eval-12-liftoff', false)).toBe('JIT: wasm');
    // undici's JavaScript callback of its llhttp wasm, optimized: JavaScript.
    expect(partOf('[JIT] tid 1', 'JS:*wasm_on_header_value /work/main/node_modules/undici/lib/dispatcher/client-h1.js:150:29', false)).toBe('JIT: JavaScript and regular expressions');
    expect(partOf('node', 'Builtins_LoadIC', false)).toBe('V8 and Node (node binary)');
    expect(partOf('[unknown]', 'x', true)).toBe('kernel');
  });
});
