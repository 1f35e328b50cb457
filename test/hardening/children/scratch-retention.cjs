// Child of finding-04 (run with --expose-gc): resident memory kept after one
// instanceNormBackward on 4Mi elements (16 MiB per tensor). argv[2] picks
// the call: 'sync-nchw' ([1, 4Mi, 1], the issue's +352 MiB), 'sync-nhwc'
// (channels-last with C = 4Mi, +265 MiB), 'async-nchw', and 'async8-nchw'
// (8 concurrent async calls, the issue's +1.4 GiB).
// Every array the call touches is allocated and written before the first
// measurement and kept until the last, and a small call of the same kind
// runs first (thread pool, code), so only what the big call leaves behind
// counts. Prints RESULT { threads, retainedMiB }.
'use strict';
const path = require('node:path');
const lib = require(path.join(__dirname, '..', '..', '..', 'dist', 'index.js'));

const MiB = 1 << 20;
const n = 4 * MiB;
const [mode, layout] = process.argv[2].split('-');

function settle() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage().rss;
}

const call = (dy, x, shape, options) =>
  mode === 'sync' ? lib.instanceNormBackward(dy, x, shape, options) : lib.instanceNormBackwardAsync(dy, x, shape, options);

async function main() {
  const x = new Float32Array(n);
  const dy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = Math.sin(i) * 3 + (i % 7);
    dy[i] = Math.cos(0.5 * i);
  }
  const nhwc = layout === 'nhwc';
  const shape = nhwc ? [1, 1, n] : [1, n, 1];
  const options = { layout: nhwc ? 'NHWC' : 'NCHW', dx: new Float32Array(n).fill(1), dgamma: new Float32Array(n).fill(1), dbeta: new Float32Array(n).fill(1) };
  const small = 1 << 18;
  const smallShape = nhwc ? [1, 64, small / 64] : [1, small / 64, 64];
  await call(dy.subarray(0, small), x.subarray(0, small), smallShape, { layout: options.layout });
  const before = settle();
  await Promise.all(Array.from({ length: mode === 'async8' ? 8 : 1 }, () => call(dy, x, shape, options)));
  const after = settle();
  console.log(`RESULT ${JSON.stringify({ threads: lib.getThreads(), retainedMiB: (after - before) / MiB })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(3);
});
