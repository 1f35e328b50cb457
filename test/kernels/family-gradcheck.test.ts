// Gradient checks for the normalization family (issue 3 API). For a float64
// scalar loss L = sum(w * y) with random w, central finite differences of the
// float64 REFERENCE forward validate the reference backward; the library's
// backward (on this project's backend) is then compared with the reference
// backward on the same float32 inputs. (Finite differences of the float32
// library itself would be too noisy to say anything at 1e-5.)
import { describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { maxAbs, numel } from '../helpers/reference.mjs';
import * as R from '../helpers/family-reference.mjs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const F: any = lib;

type Layout = 'NCHW' | 'NHWC';
type Arrs = Record<string, Float64Array>;
type Grads32 = Record<string, Float32Array>;

interface Case {
  name: string;
  /** Inputs (float64) that the loss is differentiated with respect to, plus constants. */
  inputs: () => Arrs;
  /** Names of the differentiable inputs. */
  wrt: string[];
  /** Number of output elements. */
  outputs: number;
  forward: (a: Arrs) => Float64Array;
  backward: (w: Float32Array | Float64Array, a: Arrs) => Arrs;
  /** The library's gradients (NCHW, keyed as wrt) for float32 inputs, or null if the op has no layout. */
  lib: (w: Float32Array, a: Record<string, Float32Array>, layout: Layout) => Grads32;
  layouts: Layout[];
}

const EPS = 1e-3; // keeps the loss smooth at the finite-difference step

/** The reference's gradients (and their term scales) under the names of the inputs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function rename(g: any, names: Record<string, string>): Arrs {
  const out: Record<string, unknown> = { scales: {} };
  for (const [to, from] of Object.entries(names)) {
    out[to] = g[from];
    (out.scales as Record<string, number>)[to] = g.scales?.[from] ?? 0;
  }
  return out as Arrs;
}
const f32 = (a: Float64Array) => Float32Array.from(a);

/** NCHW arrays to the library's layout and back, for the arrays of a given shape. */
const io = (shape: number[], layout: Layout) => ({
  to: (x: Float32Array) => R.toLayout(x, shape, layout).x,
  from: (y: Float32Array) => R.fromLayout(y, shape, layout),
  shape: layout === 'NHWC' ? R.nhwcShape(shape) : shape,
  opt: layout === 'NHWC' ? { layout } : {},
});

function groupNormCase(shape: number[], groups: number, perSample: boolean, constantPlane = false): Case {
  const { N, C } = R.dims(shape);
  const P = perSample ? N * C : C;
  return {
    name: `groupNorm ${JSON.stringify(shape)} groups=${groups} ${perSample ? 'per-sample' : 'per-channel'} affine${constantPlane ? ', a constant plane' : ''}`,
    inputs: () => {
      const x = R.randn64(numel(shape), 1, 0.5, 2);
      if (constantPlane) x.fill(1.25, 0, numel(shape.slice(2)));
      return { x, gamma: R.randn64(P, 2, 1, 0.5), beta: R.randn64(P, 3) };
    },
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => R.refGroupNorm(a.x, shape, groups, { gamma: a.gamma, beta: a.beta, eps: EPS }).y,
    backward: (w, a) => {
      const g = R.refGroupNormBackward(w, a.x, shape, groups, { gamma: a.gamma, eps: EPS, perSample });
      return rename(g, { x: 'dx', gamma: 'dgamma', beta: 'dbeta' });
    },
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = groups === C
        ? F.instanceNormBackward(t.to(w), t.to(a.x), t.shape, { gamma: a.gamma, eps: EPS, ...t.opt })
        : F.groupNormBackward(t.to(w), t.to(a.x), t.shape, groups, { gamma: a.gamma, eps: EPS, ...t.opt });
      return { x: t.from(g.dx), gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

function layerNormCase(shape: number[], k: number): Case {
  const L = numel(shape.slice(shape.length - k));
  return {
    name: `layerNorm ${JSON.stringify(shape)} normalizedRank=${k}`,
    inputs: () => ({ x: R.randn64(numel(shape), 4, -1, 3), gamma: R.randn64(L, 5, 1, 0.5), beta: R.randn64(L, 6) }),
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => R.refLayerNorm(a.x, shape, k, { gamma: a.gamma, beta: a.beta, eps: EPS }).y,
    backward: (w, a) => {
      const g = R.refLayerNormBackward(w, a.x, shape, k, { gamma: a.gamma, eps: EPS });
      return rename(g, { x: 'dx', gamma: 'dgamma', beta: 'dbeta' });
    },
    lib: (w, a) => {
      const g = F.layerNormBackward(w, a.x, shape, k, { gamma: a.gamma, eps: EPS });
      return { x: g.dx, gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW'],
  };
}

function batchNormCase(shape: number[], training: boolean): Case {
  const { C } = R.dims(shape);
  return {
    name: `batchNorm ${JSON.stringify(shape)} ${training ? 'training' : 'inference'}`,
    inputs: () => ({
      x: R.randn64(numel(shape), 7, 0.3, 1.5), gamma: R.randn64(C, 8, 1, 0.5), beta: R.randn64(C, 9),
      runningMean: R.randn64(C, 10, 0, 0.3), runningVar: R.randn64(C, 11, 2, 0.3),
    }),
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => R.refBatchNorm(a.x, shape, { gamma: a.gamma, beta: a.beta, eps: EPS, training, runningMean: a.runningMean, runningVar: a.runningVar }).y,
    backward: (w, a) => {
      const g = R.refBatchNormBackward(w, a.x, shape, { gamma: a.gamma, eps: EPS, training, runningMean: a.runningMean, runningVar: a.runningVar });
      return rename(g, { x: 'dx', gamma: 'dgamma', beta: 'dbeta' });
    },
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = F.batchNormBackward(t.to(w), t.to(a.x), t.shape, {
        gamma: a.gamma, eps: EPS, training, runningMean: a.runningMean, runningVar: a.runningVar, ...t.opt,
      });
      return { x: t.from(g.dx), gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

function cinCase(shape: number[], condition: Int32Array, K: number): Case {
  const { C } = R.dims(shape);
  return {
    name: `conditionalInstanceNorm ${JSON.stringify(shape)} condition=${Array.from(condition)} K=${K}`,
    inputs: () => ({ x: R.randn64(numel(shape), 12, 2, 0.7), gammaTable: R.randn64(K * C, 13, 1, 0.5), betaTable: R.randn64(K * C, 14) }),
    wrt: ['x', 'gammaTable', 'betaTable'],
    outputs: numel(shape),
    forward: (a) => R.refConditionalInstanceNorm(a.x, shape, condition, a.gammaTable, a.betaTable, { eps: EPS }).y,
    backward: (w, a) => {
      const g = R.refConditionalInstanceNormBackward(w, a.x, shape, condition, a.gammaTable, a.betaTable, { eps: EPS });
      return rename(g, { x: 'dx', gammaTable: 'dgammaTable', betaTable: 'dbetaTable' });
    },
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = F.conditionalInstanceNormBackward(t.to(w), t.to(a.x), t.shape, condition, a.gammaTable, a.betaTable, { eps: EPS, ...t.opt });
      return { x: t.from(g.dx), gammaTable: g.dgammaTable, betaTable: g.dbetaTable };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

function adaINCase(shape: number[], styleShape: number[], o: { alpha?: number; unbiased?: boolean }): Case {
  const opts = { ...o, eps: EPS };
  return {
    name: `adaIN content ${JSON.stringify(shape)} style ${JSON.stringify(styleShape)} ${JSON.stringify(o)}`,
    inputs: () => ({ content: R.randn64(numel(shape), 15, 1, 2), style: R.randn64(numel(styleShape), 16, -3, 1.5) }),
    wrt: ['content', 'style'],
    outputs: numel(shape),
    forward: (a) => R.refAdaIN(a.content, shape, a.style, styleShape, opts).y,
    backward: (w, a) => {
      const g = R.refAdaINBackward(w, a.content, shape, a.style, styleShape, opts);
      return rename(g, { content: 'dcontent', style: 'dstyle' });
    },
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const s = io(styleShape, layout);
      const g = F.adaINBackward(t.to(w), t.to(a.content), t.shape, s.to(a.style), s.shape, { ...opts, ...t.opt });
      return { content: t.from(g.dcontent), style: s.from(g.dstyle) };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

const CASES: Case[] = [
  groupNormCase([2, 4, 3, 2], 2, false),
  groupNormCase([2, 6, 5], 3, true),
  groupNormCase([1, 4, 7], 1, false),
  groupNormCase([3, 3, 2, 2, 2], 3, true), // per-sample instance norm (instanceNormBackward), 3D
  groupNormCase([2, 3, 5], 3, false, true), // instance norm with a constant plane (eps > 0)
  layerNormCase([2, 3, 4], 2),
  layerNormCase([3, 7], 1),
  layerNormCase([2, 2, 3], 3),
  batchNormCase([3, 2, 5], true),
  batchNormCase([2, 3, 2, 3], true),
  batchNormCase([3, 2, 5], false),
  cinCase([3, 2, 5], Int32Array.of(1, 3, 1), 4),
  adaINCase([2, 2, 6], [1, 2, 5], { alpha: 0.5, unbiased: true }),
  adaINCase([2, 3, 2, 3], [2, 3, 4], {}),
  adaINCase([3, 2, 4], [3, 2, 2], { alpha: 0.3 }),
];

function lossOf(c: Case, w: Float64Array, a: Arrs): number {
  return R.dot(w, c.forward(a));
}

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`gradient checks on ${label}`, () => {
  describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    it('the float64 reference backward matches central finite differences', () => {
      const a = c.inputs();
      const w = R.randn64(c.outputs, 99);
      const grads = c.backward(w, a);
      for (const k of c.wrt) {
        const fd = R.finiteDifferences(a[k], () => lossOf(c, w, a));
        expect(grads[k].length, k).toBe(fd.length);
        for (let i = 0; i < fd.length; i++) {
          expect(Math.abs(fd[i] - grads[k][i]), `d${k}[${i}]: fd ${fd[i]} vs ${grads[k][i]}`).toBeLessThan(1e-6 * (1 + Math.abs(grads[k][i])));
        }
      }
    });

    it.each(c.layouts)('the library backward matches the reference backward (layout %s)', (layout) => {
      const a64 = c.inputs();
      const a32: Record<string, Float32Array> = {};
      for (const k of Object.keys(a64)) a32[k] = f32(a64[k]);
      const w = f32(R.randn64(c.outputs, 98));
      const ref = c.backward(w, a32 as unknown as Arrs);
      const got = c.lib(w, a32, layout);
      for (const k of c.wrt) {
        expect(got[k].length, k).toBe(ref[k].length);
        const scale = (ref as { scales?: Record<string, number> }).scales?.[k] ?? 0;
        if (maxAbs(ref[k]) === 0 && scale === 0) expect(maxAbs(got[k]), k).toBe(0);
        else expect(R.relErrScaled(got[k], ref[k], scale), `d${k}`).toBeLessThanOrEqual(1e-5);
      }
    });
  });

  it('conditional instance norm: rows accumulate over the samples that used them; unused rows are 0', () => {
    const c = cinCase([3, 2, 5], Int32Array.of(1, 3, 1), 4);
    const a = c.inputs();
    const w = R.randn64(c.outputs, 97);
    const g = c.backward(w, a);
    // Rows 0 and 2 unused; row 1 is the sum of samples 0 and 2's per-sample gradients.
    const per = R.refInstanceNormBackward(w, a.x, [3, 2, 5], { gamma: R.gatherRows(a.gammaTable, [1, 3, 1], 2), eps: EPS, perSample: true });
    expect(Array.from(g.gammaTable.subarray(0, 2))).toEqual([0, 0]);
    expect(Array.from(g.betaTable.subarray(4, 6))).toEqual([0, 0]);
    for (let ch = 0; ch < 2; ch++) {
      expect(g.gammaTable[2 + ch]).toBeCloseTo(per.dgamma[ch] + per.dgamma[4 + ch], 12);
      expect(g.betaTable[6 + ch]).toBeCloseTo(per.dbeta[2 + ch], 12);
    }
    const got = c.lib(f32(w), Object.fromEntries(Object.entries(a).map(([k, v]) => [k, f32(v)])), 'NCHW');
    expect(Array.from(got.gammaTable.subarray(0, 2))).toEqual([0, 0]);
    expect(Array.from(got.betaTable.subarray(4, 6))).toEqual([0, 0]);
  });

  it('per-sample instanceNormBackward without gamma: dgamma/dbeta of length N*C select per-sample mode', () => {
    const shape = [3, 2, 7];
    const x = f32(R.randn64(42, 1));
    const dy = f32(R.randn64(42, 2));
    const ref = R.refInstanceNormBackward(dy, x, shape, { perSample: true });
    const got = F.instanceNormBackward(dy, x, shape, { dgamma: new Float32Array(6), dbeta: new Float32Array(6) });
    expect(R.relErr(got.dgamma, ref.dgamma)).toBeLessThanOrEqual(1e-5);
    expect(R.relErr(got.dbeta, ref.dbeta)).toBeLessThanOrEqual(1e-5);
    expect(R.relErr(got.dx, ref.dx)).toBeLessThanOrEqual(1e-5);
    // Summing the per-sample gradients over the batch gives the per-channel ones.
    const summed = F.instanceNormBackward(dy, x, shape, {});
    for (let c = 0; c < 2; c++) expect(summed.dgamma[c]).toBeCloseTo(got.dgamma[c] + got.dgamma[2 + c] + got.dgamma[4 + c], 5);
  });
});
