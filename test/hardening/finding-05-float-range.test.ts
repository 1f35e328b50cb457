// Finding 5 of the hardening issue: native outputs broke silently once a
// plane's deviation reached ~1.3e18 (rstd 0, every output beta), alternating
// +-3e38 gave non-finite outputs, group and layer norm returned finite wrong
// values at 1e25-1e30, and the JS backend's channels-last group-norm
// backward lost accuracy from 1e20. What must hold: planes with values up
// to the float maximum and deviations from 1e-30 to 1e38 normalize within
// 1e-4 of float64 on every ISA and the JS backend, forward and backward,
// for every operation; never a silent beta.
//
// One test per operation, layout and direction runs every data kind of
// ./float-range.ts (eps = 0, so that tiny deviations are normalized rather
// than swamped by eps) and lists each kind that misses the bar. Results are
// compared set by set (plane, group or channel: what the op normalizes
// over), relative to the set's own size; saved rstd is compared where it is
// a normal float. Combinations whose exact result is beyond the float range
// (AdaIN's output at the scale of a 3e38 style) are left out: there is
// nothing to represent.
import { describe, expect, it } from 'vitest';
import { F, label, lib, unavailable } from '../helpers/backend-under-test';
import { fromLayout, normals, toLayout } from '../helpers/data.mjs';
import {
  refAdaIN, refAdaINBackward, refBatchNorm, refBatchNormBackward, refConditionalInstanceNorm,
  refConditionalInstanceNormBackward, refGroupNorm, refGroupNormBackward, refLayerNorm, refLayerNormBackward, refMoments,
  refRmsNorm, refRmsNormBackward,
} from '../helpers/reference.mjs';
import { type Layout, lo } from '../helpers/op-checks';
import {
  C, channelOf, KINDS, type Kind, M, makeDy, makeX, N, NUMEL, overflows, paramError, positionOf, setError, setIndex,
  SHAPE, type SetsOf,
} from './float-range';

const TOL = 1e-4;
const FLT_MIN = 1.1754943508222875e-38;
const K = 3;
const CONDITION = new Int32Array([2, 0]);

/** Named errors of one call; null when the exact result is not representable. */
type Errors = Record<string, number> | null;

interface RangeOp {
  name: string;
  sets: SetsOf;
  rms?: boolean;
  /** dy of unit scale (the data kind is not what the gradients scale with: AdaIN's style). */
  unitDy?: boolean;
  /** Runs the op on x (channels-first) and returns its errors against float64. */
  run: (x: Float32Array, dy: Float32Array) => Errors;
}

const gammaC = normals(C, 11, 1, 0.5);
const betaC = normals(C, 12, 0, 1);
const gammaM = normals(M, 13, 1, 0.5);
const betaM = normals(M, 14, 0, 1);
const gammaTable = normals(K * C, 15, 1, 0.5);
const betaTable = normals(K * C, 16, 0, 1);
const style = normals(NUMEL, 17, 1, 2);

const inLayout = (x: Float32Array, layout: Layout) => toLayout(x, SHAPE, layout);
const back = (y: Float32Array, layout: Layout) => fromLayout(y, SHAPE, layout) as Float32Array;

/** rstd against float64 where the exact value is a normal float, and > 0 wherever the set is not constant. */
function rstdError(got: Float32Array, ref: ArrayLike<number>): number {
  let worst = 0;
  for (let k = 0; k < ref.length; k++) {
    if (ref[k] === Infinity) continue;
    if (!(got[k] > 0)) return Infinity; // the old silent failure: rstd 0
    if (ref[k] < FLT_MIN) continue;
    const e = Math.abs(got[k] - ref[k]) / ref[k];
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

function forwardOp(name: string, sets: SetsOf, call: (x: Float32Array, rstd: Float32Array) => Float32Array,
  ref: (x: Float32Array) => { y: Float64Array; rstd: Float64Array }, rms = false): RangeOp {
  const { set, S } = setIndex(sets);
  return {
    name: `${name} forward`, sets, rms,
    run: (x) => {
      const r = ref(x);
      if (overflows(r.y)) return null;
      const rstd = new Float32Array(r.rstd.length);
      const y = call(x, rstd);
      return { y: setError(y, r.y, set, S, 1), rstd: rstdError(rstd, r.rstd) };
    },
  };
}

function backwardOp(name: string, sets: SetsOf, call: (dy: Float32Array, x: Float32Array) => Record<string, Float32Array>,
  ref: (dy: Float32Array, x: Float32Array) => Record<string, Float64Array>, params: Record<string, (e: number) => number>,
  rms = false, dxSets: SetsOf = sets): RangeOp {
  const { set, S } = setIndex(dxSets);
  return {
    name: `${name} backward`, sets, rms,
    run: (x, dy) => {
      const r = ref(dy, x);
      if (Object.values(r).some((v) => ArrayBuffer.isView(v) && overflows(v))) return null;
      const g = call(dy, x);
      const errs: Record<string, number> = {};
      for (const k of Object.keys(g)) {
        errs[k] = k in params ? paramError(g[k], r[k], dy, params[k]) : setError(g[k], r[k], set, S, 1e-300);
      }
      return errs;
    },
  };
}

const eps0 = { eps: 0 };

function opsFor(layout: Layout): RangeOp[] {
  const L = lo(layout);
  const tag = layout;
  const ops: RangeOp[] = [
    forwardOp(`instanceNorm ${tag}`, 'plane', (x, rstd) => {
      const t = inLayout(x, layout);
      return back(F.instanceNorm(t.x, t.shape, { ...L, ...eps0, gamma: gammaC, beta: betaC, rstd }), layout);
    }, (x) => refGroupNorm(x, SHAPE, C, { ...eps0, gamma: gammaC, beta: betaC })),
    backwardOp(`instanceNorm ${tag}`, 'plane', (dy, x) => {
      const t = inLayout(x, layout);
      const g = F.instanceNormBackward(inLayout(dy, layout).x, t.x, t.shape, { ...L, ...eps0, gamma: gammaC });
      return { dx: back(g.dx, layout), dgamma: g.dgamma, dbeta: g.dbeta };
    }, (dy, x) => refGroupNormBackward(dy, x, SHAPE, C, { ...eps0, gamma: gammaC }), { dgamma: channelOf, dbeta: channelOf }),
    forwardOp(`groupNorm (2 groups) ${tag}`, 'group2', (x, rstd) => {
      const t = inLayout(x, layout);
      return back(F.groupNorm(t.x, t.shape, 2, { ...L, ...eps0, gamma: gammaC, beta: betaC, rstd }), layout);
    }, (x) => refGroupNorm(x, SHAPE, 2, { ...eps0, gamma: gammaC, beta: betaC })),
    backwardOp(`groupNorm (2 groups) ${tag}`, 'group2', (dy, x) => {
      const t = inLayout(x, layout);
      const g = F.groupNormBackward(inLayout(dy, layout).x, t.x, t.shape, 2, { ...L, ...eps0, gamma: gammaC });
      return { dx: back(g.dx, layout), dgamma: g.dgamma, dbeta: g.dbeta };
    }, (dy, x) => refGroupNormBackward(dy, x, SHAPE, 2, { ...eps0, gamma: gammaC }), { dgamma: channelOf, dbeta: channelOf }),
    forwardOp(`batchNorm training ${tag}`, 'channel', (x, rstd) => {
      const t = inLayout(x, layout);
      return back(F.batchNorm(t.x, t.shape, { ...L, ...eps0, training: true, gamma: gammaC, beta: betaC, rstd }), layout);
    }, (x) => refBatchNorm(x, SHAPE, { ...eps0, training: true, gamma: gammaC, beta: betaC })),
    backwardOp(`batchNorm training ${tag}`, 'channel', (dy, x) => {
      const t = inLayout(x, layout);
      const g = F.batchNormBackward(inLayout(dy, layout).x, t.x, t.shape, { ...L, ...eps0, training: true, gamma: gammaC });
      return { dx: back(g.dx, layout), dgamma: g.dgamma, dbeta: g.dbeta };
    }, (dy, x) => refBatchNormBackward(dy, x, SHAPE, { ...eps0, training: true, gamma: gammaC }), { dgamma: channelOf, dbeta: channelOf }),
    forwardOp(`conditionalInstanceNorm ${tag}`, 'plane', (x, rstd) => {
      const t = inLayout(x, layout);
      return back(F.conditionalInstanceNorm(t.x, t.shape, CONDITION, gammaTable, betaTable, { ...L, ...eps0, rstd }), layout);
    }, (x) => refConditionalInstanceNorm(x, SHAPE, CONDITION, gammaTable, betaTable, eps0)),
    backwardOp(`conditionalInstanceNorm ${tag}`, 'plane', (dy, x) => {
      const t = inLayout(x, layout);
      const g = F.conditionalInstanceNormBackward(inLayout(dy, layout).x, t.x, t.shape, CONDITION, gammaTable, betaTable, { ...L, ...eps0 });
      return { dx: back(g.dx, layout), dgammaTable: g.dgammaTable, dbetaTable: g.dbetaTable };
    }, (dy, x) => refConditionalInstanceNormBackward(dy, x, SHAPE, CONDITION, gammaTable, betaTable, eps0),
    { dgammaTable: tableOf, dbetaTable: tableOf }),
    ...adaINOps(layout),
  ];
  return ops;
}

function tableOf(e: number): number {
  return CONDITION[Math.floor(e / (C * M))] * C + channelOf(e);
}

/** AdaIN with the content of the data kind (style N(1, 2)), and with the style of the data kind (content N(1, 2)). */
function adaINOps(layout: Layout): RangeOp[] {
  const L = { ...lo(layout), ...eps0 };
  const { set, S } = setIndex('plane');
  const adain = (content: Float32Array, sty: Float32Array) => {
    const a = inLayout(content, layout);
    return back(F.adaIN(a.x, a.shape, inLayout(sty, layout).x, a.shape, L), layout);
  };
  const grads = (dy: Float32Array, content: Float32Array, sty: Float32Array) => {
    const a = inLayout(content, layout);
    const g = F.adaINBackward(inLayout(dy, layout).x, a.x, a.shape, inLayout(sty, layout).x, a.shape, L);
    return { dcontent: back(g.dcontent, layout), dstyle: back(g.dstyle, layout) };
  };
  const compare = (got: Record<string, Float32Array>, r: Record<string, Float64Array>): Errors =>
    Object.values(r).some((v) => overflows(v)) ? null
      : Object.fromEntries(Object.keys(got).map((k) => [k, setError(got[k], r[k], set, S, 1e-300)]));
  return [
    {
      name: `adaIN (content of the kind) ${layout} forward`, sets: 'plane',
      run: (x) => {
        const r = refAdaIN(x, SHAPE, style, SHAPE, eps0).y;
        return overflows(r) ? null : { y: setError(adain(x, style), r, set, S, 1) };
      },
    },
    {
      name: `adaIN (content of the kind) ${layout} backward`, sets: 'plane',
      run: (x, dy) => compare(grads(dy, x, style), refAdaINBackward(dy, x, SHAPE, style, SHAPE, eps0)),
    },
    {
      name: `adaIN (style of the kind) ${layout} forward`, sets: 'plane',
      run: (x) => {
        const r = refAdaIN(style, SHAPE, x, SHAPE, eps0).y;
        return overflows(r) ? null : { y: setError(adain(style, x), r, set, S, 1) };
      },
    },
    {
      name: `adaIN (style of the kind) ${layout} backward`, sets: 'plane', unitDy: true,
      run: (x, dy) => compare(grads(dy, style, x), refAdaINBackward(dy, style, SHAPE, x, SHAPE, eps0)),
    },
  ];
}

/** Row ops: rows of M (the planes of [N, C, M], normalizedRank 1), and moments. */
const ROW_OPS: RangeOp[] = [
  forwardOp('layerNorm (rows of M)', 'plane', (x, rstd) => F.layerNorm(x, SHAPE, 1, { ...eps0, gamma: gammaM, beta: betaM, rstd }),
    (x) => refLayerNorm(x, SHAPE, 1, { ...eps0, gamma: gammaM, beta: betaM })),
  backwardOp('layerNorm (rows of M)', 'plane', (dy, x) => F.layerNormBackward(dy, x, SHAPE, 1, { ...eps0, gamma: gammaM }),
    (dy, x) => refLayerNormBackward(dy, x, SHAPE, 1, { ...eps0, gamma: gammaM }), { dgamma: positionOf, dbeta: positionOf }),
  forwardOp('rmsNorm (rows of M)', 'plane', (x, rstd) => F.rmsNorm(x, SHAPE, 1, { ...eps0, gamma: gammaM, rstd }),
    (x) => refRmsNorm(x, SHAPE, 1, { ...eps0, gamma: gammaM }), true),
  backwardOp('rmsNorm (rows of M)', 'plane', (dy, x) => F.rmsNormBackward(dy, x, SHAPE, 1, { ...eps0, gamma: gammaM }),
    (dy, x) => refRmsNormBackward(dy, x, SHAPE, 1, { ...eps0, gamma: gammaM }), { dgamma: positionOf }, true),
  ...(['instance', 'batch'] as const).flatMap((over) => (['NCHW', 'NHWC'] as const).map((layout): RangeOp => ({
    name: `moments over ${over} ${layout}`, sets: over === 'instance' ? 'plane' : 'channel',
    run: (x) => {
      const t = inLayout(x, layout);
      const got = F.moments(t.x, t.shape, { over, ...lo(layout) });
      const r = refMoments(x, SHAPE, { over });
      let mean = 0;
      let m2 = 0;
      for (let k = 0; k < r.mean.length; k++) {
        const sd = Math.sqrt(r.m2[k] / r.count[k]);
        mean = Math.max(mean, Math.abs(got.mean[k] - r.mean[k]) / (Math.abs(r.mean[k]) + sd) || (got.mean[k] === r.mean[k] ? 0 : Infinity));
        m2 = Math.max(m2, Math.abs(got.m2[k] - r.m2[k]) / r.m2[k] || (got.m2[k] === r.m2[k] ? 0 : Infinity));
      }
      return { mean, m2 };
    },
  }))),
];

const OPS = [...opsFor('NCHW'), ...opsFor('NHWC'), ...ROW_OPS];

/** The kinds on which `op` misses the bar, with what missed it. */
function failures(op: RangeOp): string[] {
  const out: string[] = [];
  KINDS.forEach((kind: Kind, i) => {
    const x = makeX(kind, op.sets, 100 + i);
    const dy = op.unitDy ? normals(NUMEL, 200 + i) : makeDy(x, op.sets, !!op.rms, 200 + i);
    const errs = op.run(x, dy);
    if (!errs) return;
    const bad = Object.entries(errs).filter(([, e]) => !(e <= TOL));
    if (bad.length) out.push(`${kind.name}: ${bad.map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
  });
  return out;
}

// finding 5: fixed by the lead. Today every operation misses the bar on
// every native ISA (fp32 partial sums overflow from deviations of ~1e18 and
// underflow at 1e-30 with eps = 0); the JS backend passes.
const knownFailing = false;

describe.skipIf(unavailable !== null)(`finding 5: the whole float range on ${label}`, () => {
  (knownFailing ? it.fails : it).each(OPS.map((op) => [op.name, op] as const))('finding 5: %s within 1e-4 of float64 for deviations 1e-30..3e38', (_name, op) => {
    expect(failures(op)).toEqual([]);
  });
});
