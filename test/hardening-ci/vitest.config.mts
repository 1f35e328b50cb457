import os from 'node:os';
import { defineConfig } from 'vitest/config';

// The hardening suites of issue 10, beside the main config (vitest.config.mts):
// - fuzz: every export, sync and async, on the JS backend and on every native
//   ISA in one process (test/fuzz);
// - stress: worker threads calling sync and async ops, some terminated
//   mid-call (test/stress);
// - memory: retained memory after big calls and steady-state growth, in
//   child processes (test/memory);
// - lifetime: buffers transferred, detached and resized while async calls
//   run, in child processes with --expose-gc (test/lifetime);
// - old-cpu: the smoke test under qemu-x86_64 -cpu models without AVX2 and
//   AVX (test/old-cpu); slow, so run by scripts/ci-hardening.sh, not npm test.
// Run: npx vitest run --config test/hardening-ci/vitest.config.mts [--project fuzz ...]
export default defineConfig({
  root: new URL('../..', import.meta.url).pathname,
  test: {
    pool: 'forks',
    maxWorkers: Math.max(1, os.availableParallelism()),
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-hardening.json' }]],
    projects: [
      { extends: true, test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'] } },
      { extends: true, test: { name: 'stress', include: ['test/stress/**/*.test.ts'] } },
      { extends: true, test: { name: 'memory', include: ['test/memory/**/*.test.ts'] } },
      { extends: true, test: { name: 'lifetime', include: ['test/lifetime/**/*.test.ts'] } },
      { extends: true, test: { name: 'old-cpu', include: ['test/old-cpu/**/*.test.ts'] } },
    ],
  },
});
