import { createRequire } from 'node:module';
import os from 'node:os';
import { defineConfig } from 'vitest/config';

// The operation suites (test/ops: one file per operation), the
// concurrency harnesses (test/concurrency: threads, async), the ONNX
// conformance cases (test/conformance) and the regression tests of the
// hardening issue (test/hardening) run once per
// backend: the JS fallback and every ISA this architecture has (suites for
// an ISA the CPU lacks skip themselves, saying why). The API suites
// (validation, loading, the reference itself) run once.
const kernelSuites = [
  'test/ops/**/*.test.ts', 'test/concurrency/**/*.test.ts', 'test/conformance/**/*.test.ts', 'test/hardening/**/*.test.ts',
];
// This architecture's ISAs, from the one ISA list (native/kernels/isas.def).
const buildConfig = createRequire(import.meta.url)('./native/build-config.js');
const isas: string[] = buildConfig.isasFor(process.arch).map((isa: { name: string }) => isa.name);

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: Math.max(1, os.availableParallelism()),
    testTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      { extends: true, test: { name: 'api', include: ['test/api/**/*.test.ts'] } },
      // Issue 10's hardening suites that need no sanitizer or emulator (the
      // rest run from scripts/ci-hardening.sh): a fast-check fuzz of every
      // export on every backend, worker_threads stress, retained memory.
      { extends: true, test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], testTimeout: 300_000 } },
      { extends: true, test: { name: 'stress', include: ['test/stress/**/*.test.ts'], testTimeout: 300_000 } },
      { extends: true, test: { name: 'memory', include: ['test/memory/**/*.test.ts'], testTimeout: 300_000 } },
      { extends: true, test: { name: 'js', include: kernelSuites, env: { INSTNORM_BACKEND: 'js' } } },
      ...isas.map((isa) => ({
        extends: true,
        test: { name: isa, include: kernelSuites, env: { INSTNORM_BACKEND: 'native', INSTNORM_ISA: isa } },
      })),
    ],
  },
});
