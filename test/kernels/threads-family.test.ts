// Every family operation gives bit-identical results for any thread count:
// its statistics are merged from fixed chunks (or fixed row blocks,
// channels-last) in a fixed order, whichever thread computed them.
import { afterAll, describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { firstDifference } from '../helpers/bits';
import { normals, numel } from '../helpers/reference.mjs';

const initial = lib.getThreads();
afterAll(() => lib.setThreads(initial));

type Out = Record<string, Float32Array | Float64Array>;

// Each case returns every array it produced; shapes are above the 256Ki
// serial threshold, including few-large-group (split) shapes.
const CASES: Record<string, () => Out> = {
  'groupNorm NCHW, 32 groups': () => {
    const shape = [2, 64, 48, 48];
    const x = normals(numel(shape), 1, 50, 3);
    const dy = normals(numel(shape), 2);
    const gamma = normals(64, 3, 1, 0.2);
    const y = lib.groupNorm(x, shape, 32, { gamma, beta: normals(64, 4) });
    const g = lib.groupNormBackward(dy, x, shape, 32, { gamma });
    return { y, ...g };
  },
  'groupNorm NCHW, 1 group (split path)': () => {
    const shape = [1, 8, 300, 300];
    const x = normals(numel(shape), 5, -20, 2);
    const dy = normals(numel(shape), 6);
    const y = lib.groupNorm(x, shape, 1);
    const g = lib.groupNormBackward(dy, x, shape, 1);
    return { y, ...g };
  },
  'instanceNorm NHWC, per-sample affine': () => {
    const shape = [3, 40, 50, 48];
    const x = normals(numel(shape), 7, 1e3, 1);
    const dy = normals(numel(shape), 8);
    const gamma = normals(3 * 48, 9, 1, 0.2);
    const y = lib.instanceNorm(x, shape, { gamma, layout: 'NHWC' });
    const g = lib.instanceNormBackward(dy, x, shape, { gamma, layout: 'NHWC' });
    return { y, ...g };
  },
  'batchNorm training NCHW and NHWC': () => {
    const shape = [8, 16, 48, 48];
    const x = normals(numel(shape), 10, 3, 2);
    const dy = normals(numel(shape), 11);
    const a = lib.batchNorm(x, shape, { training: true });
    const b = lib.batchNorm(x, shape, { training: true, layout: 'NHWC' });
    const g = lib.batchNormBackward(dy, x, shape, { training: true, layout: 'NHWC' });
    return { a, b, ...g };
  },
  'layerNorm, transformer rows': () => {
    const shape = [4, 128, 768];
    const x = normals(numel(shape), 12, 0.5, 1);
    const dy = normals(numel(shape), 13);
    const gamma = normals(768, 14, 1, 0.1);
    const y = lib.layerNorm(x, shape, 1, { gamma, beta: normals(768, 15) });
    const g = lib.layerNormBackward(dy, x, shape, 1, { gamma });
    return { y, ...g };
  },
  'adaIN, broadcast style': () => {
    const shape = [4, 64, 40, 40];
    const x = normals(numel(shape), 16);
    const style = normals(64 * 30 * 20, 17, 2, 3);
    const dy = normals(numel(shape), 18);
    const y = lib.adaIN(x, shape, style, [1, 64, 30, 20], { alpha: 0.7 });
    const g = lib.adaINBackward(dy, x, shape, style, [1, 64, 30, 20], { alpha: 0.7 });
    return { y, ...g };
  },
  'moments over batch, NHWC': () => {
    const shape = [4, 64, 64, 32];
    const m = lib.moments(normals(numel(shape), 19, 7, 2), shape, { over: 'batch', layout: 'NHWC' });
    return { mean: m.mean, m2: m.m2 };
  },
};

describe.skipIf(unavailable !== null)(`family threads on ${label}`, () => {
  it.each(Object.keys(CASES))('%s: bit-identical for 1, 2, 3 and 5 threads', (name) => {
    lib.setThreads(1);
    const one = CASES[name]();
    for (const t of [2, 3, 5]) {
      lib.setThreads(t);
      const r = CASES[name]();
      for (const key of Object.keys(one)) expect(firstDifference(r[key], one[key]), `${key}, ${t} threads`).toBe(-1);
    }
  });
});
