import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The package tests (`npm run test:package`, run by .ci/run): pack the
// package once (which builds both prebuilds from this source), then install
// the tarball into scratch projects and check what a user gets. Files run
// one after the other: each runs npm and compilers, and the machine has 2 cores.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/package/**/*.test.ts'],
    globalSetup: ['test/package/pack.setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-package.json' }]],
  },
});
