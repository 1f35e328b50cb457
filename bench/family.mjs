#!/usr/bin/env node
// npm run bench:family [-- --quick] [-- --ops in,gn,ln,bn,ps,cin,adain,moments,rms] [-- --shapes ...]
//                      [-- --no-peers] [-- --no-js] [-- --md] [-- --rounds n] [-- --merge]
//
// Every operation, forward and backward, channels-first vs channels-last:
// instnorm native (1 thread; all cores for tensors of 1Mi elements or more),
// the JS fallback on some cases, onnxruntime-node where it has the operator.
// Writes a table per case, the layout ratios and
// bench/results/family-latest.json. The runner and its options: bench/bench.mjs.
import { main, UsageError } from './bench.mjs';

main(['--suite', 'family', ...process.argv.slice(2)]).catch((e) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(e instanceof UsageError ? 2 : 1);
});
