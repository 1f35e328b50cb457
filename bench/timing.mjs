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

/**
 * timeRows(rows, pass, label) -> Map(name -> { ms, samples }): median per-call
 * time of each row's `pass` function. A row slower than `slowMs` per call is
 * timed once per round; slower than `verySlowMs`, once in all.
 */
export function rowTimer({ rounds, timeMs, slowMs, verySlowMs, afterRows = () => {} }) {
  return async function timeRows(rows, pass, label) {
    const samples = new Map(rows.map((r) => [r.name, []]));
    const cost = new Map();
    for (const r of rows) {
      await r.select?.();
      await r[pass](); // warm-up (JIT, lazy pools, page faults)
      cost.set(r.name, await timeOnce(r[pass]));
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
        const bench = new Bench({ time: timeMs, iterations: 5, warmupTime: timeMs / 5, warmupIterations: 2 });
        bench.add(r.name, r[pass]);
        await bench.run();
        const t = bench.tasks[0];
        if (t.result.state !== 'completed') throw new Error(`${r.name}: ${t.result.state} ${t.result.error ?? ''}`);
        samples.get(r.name).push(t.result.latency.p50);
      }
    }
    afterRows();
    return new Map([...samples].map(([k, v]) => [k, { ms: median(v), samples: v.length }]));
  };
}
