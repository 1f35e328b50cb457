// The old-CPU test: the smoke test (smoke.cjs) under Debian's qemu-user
// `qemu-x86_64 -cpu <model>` with /usr/bin/node, for CPU models without AVX
// and without AVX2, and with AVX-512. It passes when the process exits
// normally (no illegal instruction), the ISA chosen is the best one the
// emulated CPU has, the ISAs it lacks are refused, and every ISA it has
// agrees with the JS backend.
//
// What the emulated CPU has: the model's features minus those qemu's TCG
// cannot emulate, which qemu names on stderr ("TCG doesn't support
// requested feature: CPUID.07H:EBX.avx512f"). qemu 7.2 (Debian 12) emulates
// AVX, AVX2 and FMA but no AVX-512, so its AVX-512 models run as AVX2 CPUs:
// the AVX-512 kernels themselves are tested natively (the avx512 project).
//
// Usage: node test/old-cpu/run.mjs [model ...]   (exit 1 on any failure)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** ISA-relevant CPUID features of each model (as qemu defines them). */
export const MODELS = {
  Nehalem: [],
  SandyBridge: ['avx'],
  'Haswell-noTSX': ['avx', 'avx2', 'fma'],
  'Broadwell-noTSX': ['avx', 'avx2', 'fma'],
  'Skylake-Server': ['avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl'],
  'Icelake-Server': ['avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl'],
};
/** No AVX, AVX without AVX2, AVX2, AVX-512. */
export const DEFAULT_MODELS = ['Nehalem', 'SandyBridge', 'Haswell-noTSX', 'Skylake-Server'];

/** The dispatcher's choice for a feature set (native/kernels/dispatch.cc: AVX2+FMA; AVX-512 F+BW+VL). */
export function expectedIsa(features) {
  const has = (f) => features.includes(f);
  if (has('avx2') && has('fma') && has('avx512f') && has('avx512bw') && has('avx512vl')) return 'avx512';
  if (has('avx2') && has('fma')) return 'avx2';
  return 'scalar';
}

export function qemuPath() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'qemu-x86_64');
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Runs the smoke test on one model; returns what happened and what is wrong (empty when it passed). */
export function runModel(model, { qemu = qemuPath(), node = process.env.INSTNORM_QEMU_NODE ?? '/usr/bin/node', timeout = 300_000 } = {}) {
  const t0 = Date.now();
  const r = spawnSync(qemu, ['-cpu', model, node, path.join(here, 'smoke.cjs')], {
    encoding: 'utf8', timeout, env: { ...process.env, INSTNORM_BACKEND: 'native', INSTNORM_ISA: '' },
  });
  const masked = [...new Set([...(r.stderr ?? '').matchAll(/TCG doesn't support requested feature: \S+\.([a-z0-9_]+) \[/g)].map((m) => m[1]))];
  const features = MODELS[model].filter((f) => !masked.includes(f));
  const expected = expectedIsa(features);
  const seconds = (Date.now() - t0) / 1000;
  const problems = [];
  let out = null;
  if (r.error) problems.push(`could not run qemu: ${r.error.message}`);
  else if (r.signal) problems.push(r.signal === 'SIGILL' ? 'ILLEGAL INSTRUCTION (SIGILL)' : `killed by ${r.signal}`);
  else if (r.status !== 0) {
    const ill = /Illegal instruction|signal 4/.test(r.stderr) || r.status === 132;
    problems.push(`${ill ? 'ILLEGAL INSTRUCTION: ' : ''}exit ${r.status}: ${r.stderr.split('\n').filter((l) => !l.includes('TCG doesn')).slice(-8).join(' | ')}`);
  } else {
    out = JSON.parse(r.stdout.trim().split('\n').pop());
    if (out.backend.name !== 'native') problems.push(`native backend not loaded: ${out.backend.reason}`);
    if (out.backend.isa !== expected) problems.push(`chose ${out.backend.isa}, expected ${expected} (features ${features.join(' ') || 'none'})`);
    for (const [isa, ok] of Object.entries(out.refused)) if (!ok) problems.push(`setIsa('${isa}') accepted an ISA the CPU lacks`);
    for (const [isa, e] of Object.entries(out.errors)) if (!(e <= 1e-4)) problems.push(`${isa} differs from the JS backend: ${e}`);
  }
  return { model, expected, chosen: out?.backend.isa ?? null, isas: out?.isas ?? null, masked, errors: out?.errors ?? null, seconds, problems };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const models = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT_MODELS;
  const qemu = qemuPath();
  if (!qemu) {
    console.error('old-cpu: qemu-x86_64 not found (Debian: apt-get install qemu-user)');
    process.exit(1);
  }
  let failed = 0;
  for (const m of models) {
    const r = runModel(m, { qemu });
    failed += r.problems.length ? 1 : 0;
    console.log(`old-cpu: ${m.padEnd(16)} ${r.problems.length ? 'FAIL' : 'ok  '} chose ${r.chosen} (expected ${r.expected}; ISAs ${r.isas?.join(',')}; ` +
      `TCG masked: ${r.masked.filter((f) => f.startsWith('avx')).join(',') || 'none of the ISA features'}) ${r.seconds.toFixed(1)} s` +
      (r.problems.length ? `\n  ${r.problems.join('\n  ')}` : ''));
  }
  process.exit(failed ? 1 : 0);
}
