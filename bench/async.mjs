// npm run bench:async
// Cost of the async buffer-safety copies: instanceNormAsync vs instanceNorm on
// 1x64x256x256 (16 MiB), non-shared buffers (copied) and SharedArrayBuffers
// (zero-copy), 1 and 2 threads; best and median of 30 calls each, interleaved.
import lib from '../dist/index.js';
const shape = [1, 64, 256, 256], n = 64 * 256 * 256;
function arrays(shared) {
  const mk = () => new Float32Array(shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4));
  const x = mk(), out = mk();
  for (let i = 0; i < n; i++) x[i] = Math.sin(i) + (i % 13);
  return { x, out };
}
const ns = arrays(false), sh = arrays(true);
const cases = {
  sync: () => lib.instanceNorm(ns.x, shape, { out: ns.out }),
  async: () => lib.instanceNormAsync(ns.x, shape, { out: ns.out }),
  syncShared: () => lib.instanceNorm(sh.x, shape, { out: sh.out }),
  asyncShared: () => lib.instanceNormAsync(sh.x, shape, { out: sh.out }),
};
for (const threads of [1, 2]) {
  lib.setThreads(threads);
  const t = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < 30; r++) {
    for (const [k, f] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      await f();
      t[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const med = (a) => a.slice().sort((p, q) => p - q)[a.length >> 1];
  const s = (k) => `${k} ${med(t[k]).toFixed(2)} ms (best ${Math.min(...t[k]).toFixed(2)})`;
  console.log(`${threads} thread(s): ${Object.keys(cases).map(s).join(', ')}; async/sync ${(med(t.async) / med(t.sync)).toFixed(2)}, shared ${(med(t.asyncShared) / med(t.syncShared)).toFixed(2)}`);
}
