// Every public operation, forward and backward, on the native backend
// against the JS backend, through the installed package: on this machine's
// prebuild, and on the arm64 prebuild under qemu-aarch64 with Debian's arm64
// Node 18 (the NEON kernels end to end through Node). The operations are
// listed in parity/ops.cjs; the runner fails when an exported function is
// called by no entry there.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installInto, record, repoRoot, toolFreeBin, userEnv, workDir } from './scratch';

const runner = path.join(repoRoot, 'test', 'package', 'parity', 'run.cjs');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { differences } = require('./parity/compare.cjs') as { differences(native: Result, js: Result): string[] };

interface Result {
  backend: { name: string; isa: string | null };
  arch: string;
  node: string;
  cases: Record<string, unknown>;
  uncovered: string[];
}

const work = workDir('parity');
const pkgDir = path.join(work.dir, 'project', 'node_modules', 'instnorm');
beforeAll(() => {
  const PATH = toolFreeBin(work.dir);
  expect(installInto(path.join(work.dir, 'project'), inject('tarball'), [], userEnv(PATH)).status).toBe(0);
});
afterAll(() => work.cleanup());

function runSide(prefix: string[], backend: 'native' | 'js'): Result {
  const [cmd, ...args] = [...prefix, runner, pkgDir];
  const r = spawnSync(cmd, args, { env: { ...userEnv(process.env.PATH ?? ''), INSTNORM_BACKEND: backend }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`parity run (${backend}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Result;
}

function check(prefix: string[], arch: string, isa: RegExp): void {
  const native = runSide(prefix, 'native');
  const js = runSide(prefix, 'js');
  expect(native.arch).toBe(arch);
  expect(native.backend.name).toBe('native');
  expect(native.backend.isa).toMatch(isa);
  expect(js.backend.name).toBe('js');
  expect(native.uncovered, 'exported functions no entry of test/package/parity/ops.cjs calls').toEqual([]);
  expect(differences(native, js)).toEqual([]);
  record(`parity ${arch}`, { node: native.node, isa: native.backend.isa, cases: Object.keys(native.cases).length });
}

describe('native against JS, every public op, through the installed package', () => {
  it(`on this machine (${process.arch})`, () => {
    check([process.execPath], process.arch, /^(avx512|avx2|neon|scalar)$/);
  });

  const qemu = process.platform === 'linux' && process.arch === 'x64' && spawnSync('qemu-aarch64', ['--version']).status === 0;
  const required = process.env.INSTNORM_REQUIRE_ARM64 === '1';
  it.skipIf(!qemu && !required)('on the arm64 prebuild, under qemu-aarch64 with Debian arm64 Node 18 (NEON)', () => {
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'arm64-node-sysroot.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    expect(r.status, 'making the arm64 sysroot (scripts/arm64-node-sysroot.sh)').toBe(0);
    const sysroot = r.stdout.trim();
    expect(fs.existsSync(path.join(sysroot, 'usr/bin/node'))).toBe(true);
    check(['qemu-aarch64', '-L', sysroot, path.join(sysroot, 'usr/bin/node')], 'arm64', /^neon$/);
  });
});

describe('the comparison itself', () => {
  const enc = (a: Float32Array) => ({ type: 'Float32Array', base64: Buffer.from(a.buffer).toString('base64') });
  const result = (y: Float32Array, verdict: string): Result =>
    ({ backend: { name: 'x', isa: null }, arch: 'x', node: 'x', uncovered: [], cases: { c: { outputs: { y: enc(y), n: 3 }, async: { fAsync: verdict } } } });

  it('accepts differences within the bar and reports those above it, and async mismatches', () => {
    const ref = Float32Array.of(1, -2, 3);
    expect(differences(result(Float32Array.of(1, -2, 3.00001), 'identical'), result(ref, 'identical'))).toEqual([]);
    expect(differences(result(Float32Array.of(1, -2, 3.001), 'identical'), result(ref, 'identical'))).toHaveLength(1);
    expect(differences(result(Float32Array.of(1, NaN, 3), 'identical'), result(ref, 'identical'))).toHaveLength(1);
    expect(differences(result(ref, 'differs from the sync call'), result(ref, 'identical'))).toHaveLength(1);
    expect(differences(result(ref, 'rejected: layout'), result(ref, 'rejected: layout'))).toEqual([]);
  });
});
