#!/usr/bin/env node
// npm run bench:profile -- <op> <dims> <pass> [--layout NHWC] [--groups G] [--rank R] [--isa avx2] [--reps n] [--threads n]
//
//   npm run bench:profile -- in 32x256x8x8 backward
//   npm run bench:profile -- ln 8x512x768 backward --rank 1
//   npm run bench:profile -- in 1x256x256x64 forward --layout NHWC
//
// <dims> are in the layout's order, as the API's shape: channels-last is
// N x spatial... x C (the NHWC twin of the bench's 1x64x256x256 is
// 1x256x256x64).
//
// Where an op's instructions go: callgrind counts the instructions of
// `reps` calls of one op (bench/native/op_profile.cc, the op layer and the
// kernel tables compiled as the addon is, from native/build-config.js), and
// this prints them per element of the tensor, per function (the kernels
// are inlined into their table's functions, so a function is a kernel),
// next to memcpy of the same bytes. Needs valgrind (apt-get install
// valgrind). Valgrind does not run AVX-512 code: the default ISA is the
// best one it can run (avx2 on x86-64, where the AVX-512 kernels are the
// same code over twice as wide vectors).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OP_PROFILE as OUT, buildOpProfile as build } from './native/op-profile-build.mjs';
import { cliArgs } from './timing.mjs';

const require = createRequire(import.meta.url);
const config = require('../native/build-config.js');

function fail(msg) {
  console.error(`bench:profile: ${msg}`);
  process.exit(2);
}

/** A function's name without namespaces of ours, argument lists and `const`. */
function shortName(fn) {
  let s = fn.replace(/instnorm::/g, '').replace(/\(anonymous namespace\)::/g, '');
  for (let prev = ''; prev !== s;) { prev = s; s = s.replace(/\([^()]*\)/g, ''); }
  return s.replace(/::operator\b.*$/, '').replace(/\s+const$/, '').trim();
}

/** callgrind_annotate's self counts, summed per function (inlined code counted where it was inlined): { total, rows: [{ ir, fn }] }. */
function selfCounts(file) {
  const text = execFileSync('callgrind_annotate', ['--inclusive=no', '--auto=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const byFn = new Map();
  let total = 0;
  for (const line of text.split('\n')) {
    const t = /^\s*([\d,]+)\s+\([^)]*\)\s+PROGRAM TOTALS/.exec(line);
    if (t) total = Number(t[1].replace(/,/g, ''));
    const m = /^\s*([\d,]+)\s+\([^)]*\)\s+[^:\s]*:(.+?)(?:\s+\[[^\]]*\])?\s*$/.exec(line);
    if (!m) continue;
    const fn = shortName(m[2]);
    byFn.set(fn, (byFn.get(fn) ?? 0) + Number(m[1].replace(/,/g, '')));
  }
  return { total, rows: [...byFn].map(([fn, ir]) => ({ fn, ir })).sort((a, b) => b.ir - a.ir) };
}

function callgrind(args, toggle) {
  const file = path.join(os.tmpdir(), `op-profile-${process.pid}-${toggle}.out`);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${file}`, '--collect-atstart=no', `--toggle-collect=${toggle}`, OUT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) fail(`valgrind failed:\n${r.stderr.slice(-2000)}`);
  const counts = selfCounts(file);
  fs.rmSync(file);
  return counts;
}

function main() {
  const argv = process.argv.slice(2);
  const { value, flag } = cliArgs(argv);
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
  if (flag('help') || positional.length !== 3) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 17).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(flag('help') ? 0 : 2);
  }
  const [op, shape, pass] = positional;
  if (!['in', 'gn', 'ln'].includes(op)) fail(`op must be in, gn or ln, got ${op}`);
  if (!/^\d+(x\d+)+$/.test(shape)) fail(`dims must look like 32x256x8x8, got ${shape}`);
  if (pass !== 'forward' && pass !== 'backward') fail(`pass must be forward or backward, got ${pass}`);
  if (spawnSync('valgrind', ['--version']).status !== 0) fail('needs valgrind (apt-get install valgrind)');
  const dims = shape.split('x').map(Number);
  const numel = dims.reduce((a, b) => a * b, 1);
  const isa = value('isa') ?? (process.arch === 'x64' ? 'avx2' : config.isasFor(process.arch).at(-1).name);
  // Enough calls that one-off work (pool start, first touch) is noise: about 32Mi elements in all.
  const reps = Number(value('reps') ?? Math.max(1, Math.min(1000, Math.round(2 ** 25 / numel))));
  const layout = value('layout') ?? 'NCHW';
  const extra = op === 'ln' ? value('rank') ?? '1' : value('groups') ?? (op === 'gn' ? '32' : '0');
  build();
  const args = [op, pass, layout, isa, value('threads') ?? '1', String(reps), extra, ...dims.map(String)];
  const { total, rows: opRows } = callgrind(args, 'profiled_op*');
  const { total: copy } = callgrind(args, 'profiled_memcpy*');
  const per = (ir) => ir / (numel * reps);
  console.log(`${op} ${shape} ${layout} ${pass}, ${isa}, ${reps} calls: instructions per element (callgrind, self cost per function)`);
  console.log(`  ${per(total).toFixed(3).padStart(8)}  the op, in all`);
  console.log(`  ${per(copy).toFixed(3).padStart(8)}  memcpy of the same bytes`);
  for (const r of opRows.filter((q) => q.ir / total >= 0.005)) {
    console.log(`  ${per(r.ir).toFixed(3).padStart(8)}  ${(100 * r.ir / total).toFixed(1).padStart(5)}%  ${r.fn}`);
  }
}

main();
