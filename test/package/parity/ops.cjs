// The operations the cross-backend parity run exercises (test/package/
// parity.test.ts: the native backend against the JS backend, on x64 and on
// the arm64 prebuild under qemu with Debian's arm64 Node 18). Plain CommonJS
// on the public API only, so it runs on any Node that runs the package.
//
// One entry per operation: `run(lib, data)` calls it forward and backward
// and returns what to compare (typed arrays, nested in plain objects). The
// runner checks that every exported function is called by some entry (a new
// op without an entry fails the run) and, for every call whose function has
// an `...Async` variant, that the async variant gives identical results.
'use strict';

module.exports = [
  {
    name: 'instance norm, NCHW, saved statistics',
    run(lib, d) {
      const shape = [2, 3, 1031];
      const x = d.f32(2 * 3 * 1031, 3), dy = d.f32(2 * 3 * 1031);
      const gamma = d.f32(3, 1), beta = d.f32(3);
      const mean = new Float32Array(6), rstd = new Float32Array(6);
      const y = lib.instanceNorm(x, shape, { gamma, beta, mean, rstd });
      return { y, mean, rstd, saved: lib.instanceNormBackward(dy, x, shape, { gamma, mean, rstd }),
        recomputed: lib.instanceNormBackward(dy, x, shape, { gamma }) };
    },
  },
  {
    name: 'instance norm, NHWC, per-sample affine',
    run(lib, d) {
      const shape = [2, 37, 5];
      const x = d.f32(370, -2), dy = d.f32(370);
      const gamma = d.f32(10, 1), beta = d.f32(10);
      return { y: lib.instanceNorm(x, shape, { gamma, beta, layout: 'NHWC' }),
        g: lib.instanceNormBackward(dy, x, shape, { gamma, layout: 'NHWC' }) };
    },
  },
  {
    name: 'instance norm, above the threading threshold (worker pool)',
    run(lib, d) {
      const shape = [1, 4, 65600];
      const x = d.f32(4 * 65600, 10), dy = d.f32(4 * 65600);
      return { y: lib.instanceNorm(x, shape), g: lib.instanceNormBackward(dy, x, shape) };
    },
  },
  {
    name: 'group norm, NCHW and NHWC',
    run(lib, d) {
      const shape = [2, 8, 129], nhwc = [2, 129, 8];
      const x = d.f32(2 * 8 * 129, 1), dy = d.f32(2 * 8 * 129);
      const gamma = d.f32(8, 1), beta = d.f32(8);
      return {
        y: lib.groupNorm(x, shape, 4, { gamma, beta }),
        g: lib.groupNormBackward(dy, x, shape, 4, { gamma }),
        yl: lib.groupNorm(x, nhwc, 2, { gamma, beta, layout: 'NHWC' }),
        gl: lib.groupNormBackward(dy, x, nhwc, 2, { gamma, layout: 'NHWC' }),
      };
    },
  },
  {
    name: 'layer norm, rank 1 and rank 2',
    run(lib, d) {
      const shape = [4, 7, 300];
      const x = d.f32(4 * 7 * 300, 2), dy = d.f32(4 * 7 * 300);
      const g1 = d.f32(300, 1), b1 = d.f32(300), g2 = d.f32(2100, 1), b2 = d.f32(2100);
      return {
        y1: lib.layerNorm(x, shape, 1, { gamma: g1, beta: b1 }),
        d1: lib.layerNormBackward(dy, x, shape, 1, { gamma: g1 }),
        y2: lib.layerNorm(x, shape, 2, { gamma: g2, beta: b2 }),
        d2: lib.layerNormBackward(dy, x, shape, 2, { gamma: g2 }),
      };
    },
  },
  {
    name: 'batch norm, training and inference, NCHW and NHWC',
    run(lib, d) {
      const shape = [3, 5, 211], nhwc = [3, 211, 5];
      const x = d.f32(3 * 5 * 211, 4), dy = d.f32(3 * 5 * 211);
      const gamma = d.f32(5, 1), beta = d.f32(5);
      const runningMean = d.f32(5), runningVar = new Float32Array(5).fill(1);
      const y = lib.batchNorm(x, shape, { gamma, beta, training: true, runningMean, runningVar });
      const g = lib.batchNormBackward(dy, x, shape, { gamma, training: true });
      const yi = lib.batchNorm(x, shape, { gamma, beta, runningMean, runningVar });
      const gi = lib.batchNormBackward(dy, x, shape, { gamma, runningMean, runningVar });
      const yl = lib.batchNorm(x, nhwc, { gamma, beta, training: true, layout: 'NHWC' });
      const gl = lib.batchNormBackward(dy, x, nhwc, { gamma, training: true, layout: 'NHWC' });
      return { y, g, yi, gi, yl, gl, runningMean, runningVar };
    },
  },
  {
    name: 'conditional instance norm',
    run(lib, d) {
      const shape = [4, 3, 97], K = 5;
      const x = d.f32(4 * 3 * 97, 1), dy = d.f32(4 * 3 * 97);
      const condition = new Int32Array([0, 3, 3, 4]);
      const gammaTable = d.f32(K * 3, 1), betaTable = d.f32(K * 3);
      return {
        y: lib.conditionalInstanceNorm(x, shape, condition, gammaTable, betaTable),
        g: lib.conditionalInstanceNormBackward(dy, x, shape, condition, gammaTable, betaTable),
      };
    },
  },
  {
    name: 'AdaIN, broadcast style of another size, unbiased',
    run(lib, d) {
      const cShape = [2, 4, 150], sShape = [1, 4, 77];
      const content = d.f32(2 * 4 * 150, 2), style = d.f32(4 * 77, -1), dy = d.f32(2 * 4 * 150);
      const opts = { alpha: 0.8, unbiased: true };
      return {
        y: lib.adaIN(content, cShape, style, sShape, opts),
        g: lib.adaINBackward(dy, content, cShape, style, sShape, opts),
      };
    },
  },
  {
    name: 'RMS norm, rank 1 and rank 2, saved and recomputed rstd',
    run(lib, d) {
      const shape = [4, 7, 300];
      const x = d.f32(4 * 7 * 300, 1), dy = d.f32(4 * 7 * 300);
      const g1 = d.f32(300, 1), g2 = d.f32(2100, 1);
      const rstd = new Float32Array(28);
      const y1 = lib.rmsNorm(x, shape, 1, { gamma: g1, rstd });
      return {
        y1, rstd,
        d1: lib.rmsNormBackward(dy, x, shape, 1, { gamma: g1, rstd }),
        y2: lib.rmsNorm(x, shape, 2, { gamma: g2 }),
        d2: lib.rmsNormBackward(dy, x, shape, 2, { gamma: g2 }),
      };
    },
  },
  {
    name: 'moments of every kind, merged',
    run(lib, d) {
      const shape = [2, 6, 333];
      const a = d.f32(2 * 6 * 333, 5), b = d.f32(2 * 6 * 333, 5.5);
      const batchA = lib.moments(a, shape, { over: 'batch' }), batchB = lib.moments(b, shape, { over: 'batch' });
      return {
        instance: lib.moments(a, shape),
        layer: lib.moments(a, shape, { over: 'layer' }),
        group: lib.moments(a, shape, { over: 'group', groups: 3 }),
        batchNhwc: lib.moments(a, [2, 333, 6], { over: 'batch', layout: 'NHWC' }),
        merged: lib.mergeMoments(batchA, batchB),
      };
    },
  },
];
