#!/usr/bin/env node
// npm run bench [-- --quick] [-- --shapes a,b] [-- --pass forward|backward] [-- --no-peers] [-- --ops ...]
//
// Instance norm on the shapes of bench/shapes.json: instnorm native (best
// ISA on 1 and all threads, each lower ISA on 1 thread), the JS fallback,
// peers (onnxruntime-node, TF.js wasm and cpu), a plain-JS yardstick and a
// memcpy of the same bytes. Writes a table, bench/results/latest.json and
// latest.svg. The runner and its options: bench/bench.mjs.
import { main, UsageError } from './bench.mjs';

main(['--suite', 'instance', ...process.argv.slice(2)]).catch((e) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(e instanceof UsageError ? 2 : 1);
});
