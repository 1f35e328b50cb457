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
const TOLERANCE = 1e-5; // relative to 1 + max |reference|, as the kernel suites

interface Encoded { type: string; base64: string }
interface Result {
  backend: { name: string; isa: string | null };
  arch: string;
  node: string;
  cases: Record<string, { outputs: Record<string, Encoded | number | string | boolean>; async: Record<string, string> }>;
  uncovered: string[];
}

const work = workDir('parity');
const pkgDir = path.join(work.dir, 'project', 'node_modules', 'instnorm');
beforeAll(() => {
  const PATH = toolFreeBin(work.dir);
  expect(installInto(path.join(work.dir, 'project'), inject('tarball'), [], userEnv(PATH)).status).toBe(0);
});
afterAll(() => work.cleanup());

function decode(e: Encoded): Float32Array | Float64Array | Int32Array {
  const b = Buffer.from(e.base64, 'base64');
  const T = ({ Float32Array, Float64Array, Int32Array } as Record<string, any>)[e.type];
  return new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function runSide(prefix: string[], backend: 'native' | 'js'): Result {
  const [cmd, ...args] = [...prefix, runner, pkgDir];
  const r = spawnSync(cmd, args, { env: { ...userEnv(process.env.PATH ?? ''), INSTNORM_BACKEND: backend }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`parity run (${backend}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Result;
}

/** Every mismatch between the two backends, as readable lines. */
function differences(native: Result, js: Result): string[] {
  const out: string[] = [];
  for (const [name, c] of Object.entries(js.cases)) {
    const n = native.cases[name];
    if (!n) { out.push(`${name}: missing on native`); continue; }
    for (const [key, ref] of Object.entries(c.outputs)) {
      const got = n.outputs[key];
      if (typeof ref !== 'object' || typeof got !== 'object') {
        if (got !== ref) out.push(`${name} ${key}: ${String(got)} vs ${String(ref)}`);
        continue;
      }
      const a = decode(got), b = decode(ref);
      let maxRef = 0, maxDiff = 0;
      for (let i = 0; i < b.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(b[i]));
        maxDiff = Math.max(maxDiff, Number.isNaN(a[i]) !== Number.isNaN(b[i]) ? Infinity : Math.abs(a[i] - b[i]) || 0);
      }
      if (a.length !== b.length || !(maxDiff <= TOLERANCE * (1 + maxRef))) {
        out.push(`${name} ${key}: max |native - js| = ${maxDiff} (bar ${TOLERANCE * (1 + maxRef)})`);
      }
    }
    for (const [fn, verdict] of Object.entries(n.async)) {
      // An async variant matches its sync call bit for bit, or both backends reject it alike.
      if (verdict !== 'identical' && verdict !== c.async[fn]) out.push(`${name} ${fn}: native ${verdict}, js ${c.async[fn]}`);
      if (verdict === 'differs from the sync call') out.push(`${name} ${fn}: ${verdict}`);
    }
  }
  return out;
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
