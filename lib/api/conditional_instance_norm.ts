/**
 * Conditional instance norm (Dumoulin et al., 2017): instance norm whose
 * affine for sample n is row condition[n] of [K, C] tables (a style index,
 * a class, an upscale factor). The group-norm op with a conditional affine.
 */
import { type Async, type Call, Outputs, asyncOf, syncOf } from '../call';
import { AffineRows } from '../descriptors';
import {
  describe, epsilon, float32, layout, lengthOfArray, noOverlap, optionalFloat32, optionsObject, planeShape,
  type Layout, savedTogether,
} from '../validate';
import { types } from 'node:util';

export interface ConditionalInstanceNormOptions {
  eps?: number;
  out?: Float32Array;
  mean?: Float32Array;
  rstd?: Float32Array;
  layout?: Layout;
}

export interface ConditionalInstanceNormBackwardOptions {
  eps?: number;
  mean?: Float32Array;
  rstd?: Float32Array;
  dx?: Float32Array;
  /** Output for the gradient of gammaTable, [K, C]. */
  dgammaTable?: Float32Array;
  /** Output for the gradient of betaTable, [K, C]. */
  dbetaTable?: Float32Array;
  layout?: Layout;
}

export interface ConditionalGradients {
  dx: Float32Array;
  /** [K, C]: row k summed over the samples whose condition was k (0 for unused rows). */
  dgammaTable: Float32Array;
  dbetaTable: Float32Array;
}

/** The condition vector (Int32Array/Uint32Array, length N, values in [0, K)), read once into a copy. */
function conditions(v: unknown, n: number, k: number): Int32Array {
  if (!types.isInt32Array(v) && !types.isUint32Array(v)) {
    throw new TypeError(`condition must be an Int32Array or Uint32Array of length N, got ${describe(v)}`);
  }
  const len = lengthOfArray(v);
  if (len !== n) throw new RangeError(`condition must have N = ${n} elements, got ${len}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = v[i];
    if (!(c >= 0 && c < k)) throw new RangeError(`condition[${i}] must be in [0, K) = [0, ${k}), got ${c}`);
    out[i] = c;
  }
  return out;
}

/** gammaTable/betaTable: [K, C] flattened, K >= 1. Returns K. */
function tableRows(gammaTable: unknown, betaTable: unknown, c: number): number {
  for (const [v, name] of [[gammaTable, 'gammaTable'], [betaTable, 'betaTable']] as const) {
    if (!types.isFloat32Array(v)) throw new TypeError(`${name} must be a Float32Array [K, C], got ${describe(v)}`);
    const len = lengthOfArray(v);
    if (len === 0 || len % c !== 0) {
      throw new RangeError(`${name} must have K*C elements (K >= 1, C = ${c}), got ${len}`);
    }
  }
  const kg = lengthOfArray(gammaTable as Float32Array) / c;
  const kb = lengthOfArray(betaTable as Float32Array) / c;
  if (kg !== kb) throw new RangeError(`gammaTable and betaTable must have the same number of rows, got ${kg} and ${kb}`);
  return kg;
}

const FORWARD = new Set(['eps', 'out', 'mean', 'rstd', 'layout'] as const);
const BACKWARD = new Set(['eps', 'mean', 'rstd', 'dx', 'dgammaTable', 'dbetaTable', 'layout'] as const);

type Cond = Int32Array | Uint32Array;

/** The descriptor's affine fields are this function's tables. */
const TABLE_NAMES = {
  gamma: 'gammaTable', beta: 'betaTable', dgamma: 'options.dgammaTable', dbeta: 'options.dbetaTable',
} as const;

function forward(
  fn: string, x: Float32Array, shape: readonly number[], condition: Cond, gammaTable: Float32Array,
  betaTable: Float32Array, options?: ConditionalInstanceNormOptions,
): Call<'groupNorm', Float32Array> {
  const o = optionsObject(options, fn, FORWARD);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const k = tableRows(gammaTable, betaTable, s.c);
  const outs = new Outputs();
  const cond = outs.own(conditions(condition, s.n, k), 'condition');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  if (out || mean || rstd) {
    noOverlap([out, mean, rstd], ['options.out', 'options.mean', 'options.rstd'],
      [xs, gammaTable, betaTable], ['x', 'gammaTable', 'betaTable'], 1);
  }
  const y = outs.f32(out, s.numel, 'out');
  return {
    op: 'groupNorm',
    desc: {
      n: s.n, c: s.c, s: s.m, groups: s.c, channelsLast: lay === 'NHWC', affine: AffineRows.Conditional, rows: k,
      blend: 0, eps, x: xs, out: y, gamma: gammaTable, beta: betaTable, condition: cond, mean, rstd,
    },
    result: y,
    fresh: outs.fresh,
    names: TABLE_NAMES,
  };
}

function backward(
  fn: string, dy: Float32Array, x: Float32Array, shape: readonly number[], condition: Cond,
  gammaTable: Float32Array, betaTable: Float32Array, options?: ConditionalInstanceNormBackwardOptions,
): Call<'groupNormBackward', ConditionalGradients> {
  const o = optionsObject(options, fn, BACKWARD);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const k = tableRows(gammaTable, betaTable, s.c);
  const outs = new Outputs();
  const cond = outs.own(conditions(condition, s.n, k), 'condition');
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const eps = epsilon(o.eps);
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  savedTogether(fn, mean, rstd);
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgt = optionalFloat32(o.dgammaTable, 'options.dgammaTable', k * s.c, 'K*C');
  const dbt = optionalFloat32(o.dbetaTable, 'options.dbetaTable', k * s.c, 'K*C');
  if (dx || dgt || dbt) {
    noOverlap([dx, dgt, dbt], ['options.dx', 'options.dgammaTable', 'options.dbetaTable'],
      [dys, xs, gammaTable, betaTable, mean, rstd],
      ['dy', 'x', 'gammaTable', 'betaTable', 'options.mean', 'options.rstd'], 2);
  }
  const r = {
    dx: outs.f32(dx, s.numel, 'dx'),
    dgammaTable: outs.f32(dgt, k * s.c, 'dgamma'),
    dbetaTable: outs.f32(dbt, k * s.c, 'dbeta'),
  };
  return {
    op: 'groupNormBackward',
    desc: {
      n: s.n, c: s.c, s: s.m, groups: s.c, channelsLast: lay === 'NHWC', affine: AffineRows.Conditional, rows: k,
      blend: 0, eps, dy: dys, x: xs, dx: r.dx, dgamma: r.dgammaTable, dbeta: r.dbetaTable, gamma: gammaTable,
      condition: cond, mean, rstd,
    },
    result: r,
    fresh: outs.fresh,
    names: TABLE_NAMES,
  };
}

type Forward = (
  x: Float32Array, shape: readonly number[], condition: Cond, gammaTable: Float32Array, betaTable: Float32Array,
  options?: ConditionalInstanceNormOptions,
) => Float32Array;
type Backward = (
  dy: Float32Array, x: Float32Array, shape: readonly number[], condition: Cond, gammaTable: Float32Array,
  betaTable: Float32Array, options?: ConditionalInstanceNormBackwardOptions,
) => ConditionalGradients;

/** Conditional instance norm: instance norm with the affine of row condition[n] of the tables. */
export const conditionalInstanceNorm: Forward = syncOf('conditionalInstanceNorm', forward);

/** Gradients of {@link conditionalInstanceNorm}: dx and [K, C] table gradients. */
export const conditionalInstanceNormBackward: Backward = syncOf('conditionalInstanceNormBackward', backward);

/** {@link conditionalInstanceNorm} off the JS thread; see instanceNormAsync. */
export const conditionalInstanceNormAsync: Async<Forward> = asyncOf('conditionalInstanceNormAsync', forward);

/** {@link conditionalInstanceNormBackward} off the JS thread; see instanceNormAsync. */
export const conditionalInstanceNormBackwardAsync: Async<Backward> =
  asyncOf('conditionalInstanceNormBackwardAsync', backward);
