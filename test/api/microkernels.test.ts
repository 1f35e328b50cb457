// Runs the C++ microkernel tests (native/test/microkernels_test.cc) built by
// scripts/build-kernel-tests.sh: every ISA's kernels on sizes 1-70 and
// around block boundaries, with guard pages after every buffer. This is how
// ISAs the CPU lacks are still tested here: AVX-512 through SIMDe emulation,
// NEON under qemu-aarch64.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = path.resolve(__dirname, '..', '..', 'build-tests');
const variants = [
  { file: 'microkernels_test-host', runner: [] as string[] },
  { file: 'microkernels_test-avx512emu', runner: [] },
  { file: 'microkernels_test-arm64', runner: ['qemu-aarch64'] },
].filter((v) => fs.existsSync(path.join(dir, v.file)));

if (variants.length === 0) {
  console.warn('[instnorm tests] no C++ microkernel tests built; run `bash scripts/build-kernel-tests.sh`');
}

describe('C++ microkernel tests', () => {
  // Locally the variants are optional (they need extra toolchains); CI
  // (.ci/run) builds all of them, and this checks it did.
  it.runIf(process.env.CI)('every variant was built in CI', () => {
    expect(variants.map((v) => v.file)).toHaveLength(process.arch === 'x64' ? 3 : 1);
  });

  it.each(variants)('$file passes', ({ file, runner }) => {
    const cmd = [...runner, path.join(dir, file)];
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
    const summary = r.stdout.trim().split('\n').at(-1) ?? '';
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const m = /^(\d+) passed, (\d+) failed$/.exec(summary);
    expect(m, summary).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBe(0);
  });
});
