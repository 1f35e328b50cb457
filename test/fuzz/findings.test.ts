// The fuzz's findings, one small reproduction each: H10-F2 to H10-F7 were
// bugs, fixed, and these tests keep them fixed; H10-F1 is a limitation of
// the JS backend, and its test asserts the documented behaviour.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { internal, lib } from '../helpers/backend-under-test';

const onBackend = <T>(name: 'js' | 'native', fn: () => T): T => {
  internal.useBackend(name);
  try {
    return fn();
  } finally {
    internal.useBackend('native');
  }
};

describe('fuzz findings (issue 10 hardening)', () => {
  it('H10-F1 (documented): the JS backend computes a call over two SharedArrayBuffer objects sharing memory from copies', () => {
    const sab = new SharedArrayBuffer(48 * 4);
    const x = new Float32Array(sab);
    x.forEach((_, i) => { x[i] = Math.sin(i) * 3; });
    const before = x.slice();
    // rstd (N*C = 8 floats) over the first 8 floats of x, through a second SAB object (structuredClone).
    const rstd = new Float32Array(structuredClone(sab), 0, 8);
    const y = onBackend('js', () => lib.instanceNorm(x, [2, 6, 4], { layout: 'NHWC', rstd }));
    // The results of separate arrays: y and rstd as from a copy of x.
    const rs = new Float32Array(8);
    const want = onBackend('js', () => lib.instanceNorm(before, [2, 6, 4], { layout: 'NHWC', rstd: rs }));
    expect(Array.from(y)).toEqual(Array.from(want));
    expect(Array.from(rstd)).toEqual(Array.from(rs));
    // The native backend sees the addresses and refuses the call, writing nothing.
    if (lib.backend().name === 'native') {
      const x2 = new Float32Array(new SharedArrayBuffer(48 * 4));
      x2.set(before);
      expect(() => lib.instanceNorm(x2, [2, 6, 4], { layout: 'NHWC', rstd: new Float32Array(structuredClone(x2.buffer), 0, 8) }))
        .toThrow(RangeError);
      expect(Array.from(x2)).toEqual(Array.from(before));
    }
  });

  it("H10-F2: conditionalInstanceNormAsync's refusal of a resizable gammaTable names gammaTable", async () => {
    const gammaTable = new Float32Array(new ArrayBuffer(8, { maxByteLength: 16 }));
    const p = lib.conditionalInstanceNormAsync(new Float32Array(8), [2, 2, 2], new Int32Array([0, 0]), gammaTable, new Float32Array(2));
    await expect(p).rejects.toThrow(/gammaTable/);
  });

  it('H10-F3: mergeMoments with a DataView for a.count throws a TypeError naming a.count', () => {
    const m = { count: new Float64Array(1).fill(1), mean: new Float64Array(1), m2: new Float64Array(1) };
    expect(() => lib.mergeMoments({ ...m, count: new DataView(new ArrayBuffer(8)) } as never, m)).toThrow(/a\.count/);
  });

  it('H10-F4: JS layerNormBackward in place (dx = dy), eps = 0: dbeta sums the original dy of constant rows', () => {
    const dy = new Float32Array([1, 2, 3, 4]);
    const g = onBackend('js', () => lib.layerNormBackward(dy, new Float32Array([2, 2, 0.1, 0.4]), [2, 2], 1, { eps: 0, dx: dy }));
    expect(Array.from(g.dbeta)).toEqual([4, 6]);
  });

  it('H10-F7: batchNorm refuses a non-integer options.stats.count (a number of elements)', () => {
    const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const runningVar = new Float32Array(3).fill(1);
    const stats = { mean: new Float64Array(3), var: new Float64Array(3).fill(1), count: 2.5 };
    expect(() => lib.batchNorm(x, [2, 3, 4], { training: true, runningMean: new Float32Array(3), runningVar, stats })).toThrow(RangeError);
    expect(Array.from(runningVar)).toEqual([1, 1, 1]);
  });

  it('H10-F5: a shape whose length keeps growing (a Proxy) is refused, not looped over until memory runs out', () => {
    // In a child process: the library must throw at once; it spins (and eventually runs out of memory).
    const dist = path.resolve(__dirname, '../../dist/index.js');
    const script = `
      const lib = require(${JSON.stringify(dist)});
      let reads = 0;
      const shape = new Proxy([1, 2, 3], { get(t, k) { if (k === 'length') return ++reads + 3; return /^\\d+$/.test(String(k)) ? 1 : t[k]; } });
      try { lib.instanceNorm(new Float32Array(6), shape); console.log('accepted'); } catch (e) { console.log(e.constructor.name); }`;
    const r = spawnSync(process.execPath, ['--max-old-space-size=256', '-e', script], { timeout: 3000, encoding: 'utf8' });
    expect(r.signal, 'killed after 3 s').toBeNull();
    expect(r.stdout.trim()).toMatch(/^(TypeError|RangeError)$/);
  });
});
