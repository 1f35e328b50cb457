// The timing method shared by `npm run bench` and `npm run bench:family`:
// every row is timed once per round (tinybench for fast rows, single calls
// for slow ones), rounds are interleaved so all rows see the same machine
// state, and a row's figure is the median over rounds of its per-round median.
import { Bench } from 'tinybench';

export function cliArgs(argv = process.argv.slice(2)) {
  return {
    flag: (name) => argv.includes(`--${name}`),
    value: (name) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; },
  };
}

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

export const fmtTime = (ms, usDigits = 2) =>
  (ms < 1 ? `${(ms * 1000).toFixed(usDigits)} us` : ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** One status line, rewritten in place on a terminal. */
export const progress = (msg) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
  else process.stderr.write(`${msg}\n`);
};

export async function timeOnce(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// A sample of a fast row is a loop of calls lasting about this long: the
// timer and tinybench's own work per sample (a few microseconds) would
// otherwise be counted in every call of a microsecond-scale row.
const SAMPLE_MS = 0.2;

/** fn, looped `calls` times per sample when one call takes under SAMPLE_MS. */
function batched(fn, costMs, isAsync) {
  const calls = Math.max(1, Math.min(1000, Math.floor(SAMPLE_MS / Math.max(costMs, 1e-4))));
  if (calls === 1) return { fn, calls };
  const loop = isAsync
    ? async () => { for (let i = 0; i < calls; i++) await fn(); }
    : () => { for (let i = 0; i < calls; i++) fn(); };
  return { fn: loop, calls };
}

/**
 * timeRows(rows, pass, label) -> Map(name -> { ms, samples }): median per-call
 * time of each row's `pass` function. A row slower than `slowMs` per call is
 * timed once per round; slower than `verySlowMs`, once in all.
 */
export function rowTimer({ rounds, timeMs, slowMs, verySlowMs, afterRows = () => {} }) {
  return async function timeRows(rows, pass, label) {
    const samples = new Map(rows.map((r) => [r.name, []]));
    const cost = new Map();
    const fns = new Map();
    for (const r of rows) {
      await r.select?.();
      const isAsync = typeof r[pass]()?.then === 'function'; // also the warm-up (JIT, lazy pools, page faults)
      if (isAsync) await r[pass]();
      const c = await timeOnce(r[pass]);
      cost.set(r.name, c);
      fns.set(r.name, batched(r[pass], c, isAsync));
    }
    for (let round = 0; round < rounds; round++) {
      for (const r of rows) {
        progress(`${label}: round ${round + 1}/${rounds}, ${r.name}`);
        const c = cost.get(r.name);
        if (c > verySlowMs) {
          if (round === 0) samples.get(r.name).push(c);
          continue;
        }
        await r.select?.();
        if (c > slowMs) {
          samples.get(r.name).push(await timeOnce(r[pass]));
          continue;
        }
        const { fn, calls } = fns.get(r.name);
        const bench = new Bench({ time: timeMs, iterations: 5, warmupTime: timeMs / 5, warmupIterations: 2 });
        bench.add(r.name, fn);
        await bench.run();
        const t = bench.tasks[0];
        if (t.result.state !== 'completed') throw new Error(`${r.name}: ${t.result.state} ${t.result.error ?? ''}`);
        samples.get(r.name).push(t.result.latency.p50 / calls);
      }
    }
    afterRows();
    return new Map([...samples].map(([k, v]) => [k, { ms: median(v), samples: v.length }]));
  };
}
