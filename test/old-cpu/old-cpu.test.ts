// The old-CPU test (issue 10): the smoke test under qemu-x86_64 -cpu models
// without AVX, without AVX2, with AVX2 and with AVX-512 (see run.mjs: what
// it checks, and why qemu 7.2's AVX-512 models run as AVX2 CPUs). Skips,
// saying why, where qemu-x86_64 or an x64 Node is missing. Models:
// INSTNORM_OLD_CPU_MODELS (comma-separated) or run.mjs's DEFAULT_MODELS.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, MODELS, qemuPath, runModel } from './run.mjs';

const qemu = qemuPath();
const node = process.env.INSTNORM_QEMU_NODE ?? '/usr/bin/node';
const why = process.arch !== 'x64' ? `this is ${process.arch}: the models are x86-64 CPUs`
  : !qemu ? 'qemu-x86_64 not found (Debian: apt-get install qemu-user)'
    : !fs.existsSync(node) ? `${node} not found (set INSTNORM_QEMU_NODE)` : null;
if (why) console.warn(`[old-cpu] skipping: ${why}`);
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
if (!why && !hasGcc) console.warn('[old-cpu] gcc not found: the emulator self-check (SIGILL on Nehalem) is skipped');
const models = (process.env.INSTNORM_OLD_CPU_MODELS?.split(',') ?? DEFAULT_MODELS).filter(Boolean);

describe.skipIf(why !== null)('old CPUs under qemu-x86_64', () => {
  it.skipIf(!hasGcc)('the emulator raises SIGILL for an AVX instruction on Nehalem (so a pass below means something)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'instnorm-ill-'));
    try {
      fs.writeFileSync(path.join(dir, 'avx.c'), 'int main(void) { __asm__ volatile("vaddps %%ymm0, %%ymm0, %%ymm0" ::: "xmm0"); return 0; }\n');
      expect(spawnSync('gcc', ['-O1', '-o', path.join(dir, 'avx'), path.join(dir, 'avx.c')]).status).toBe(0);
      expect(spawnSync(qemu!, ['-cpu', 'Haswell-noTSX', path.join(dir, 'avx')]).status).toBe(0);
      expect(spawnSync(qemu!, ['-cpu', 'Nehalem', path.join(dir, 'avx')]).signal).toBe('SIGILL');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(models)('%s: no illegal instruction, the best ISA it has, same results as the JS backend', (model) => {
    expect(Object.keys(MODELS), `unknown model ${model}`).toContain(model);
    const r = runModel(model, { qemu: qemu!, node });
    console.log(`[old-cpu] ${model}: chose ${r.chosen} (expected ${r.expected}; ISAs ${r.isas?.join(',')}; max error vs JS ${JSON.stringify(r.errors)}; ${r.seconds.toFixed(1)} s)`);
    expect(r.problems).toEqual([]);
  });
});
