/**
 * Instance norm, group norm and conditional instance norm: statistics per
 * (sample, group of channels), affine per channel or per sample, in either
 * layout. Validation here; the work in lib/ops/compose.ts and the backend.
 */
import { active } from './backend';
import { groupBackward, groupForward, type Dims } from './ops/compose';
import {
  affineParam, describe, epsilon, fixedLength, float32, integer, layout, lengthOfArray, noOverlap,
  optionalFloat32, optionsObject, planeShape, type Layout, type PlaneShape,
} from './validate';
import { types } from 'node:util';

export type { Layout };

export interface InstanceNormOptions {
  /** Scale per channel (length C) or per sample (length N*C, index n*C + c). Absent: 1. */
  gamma?: Float32Array;
  /** Shift, same length rules as gamma. Absent: 0. */
  beta?: Float32Array;
  /** Added to the variance inside the square root. Default 1e-5; finite, >= 0. */
  eps?: number;
  /** Output buffer, length numel. May be `x` itself (in place). */
  out?: Float32Array;
  /** Filled with the per-(n, c) mean (per (n, group) for group norm). */
  mean?: Float32Array;
  /** Filled with the per-(n, c) 1/sqrt(var + eps) (per (n, group) for group norm). */
  rstd?: Float32Array;
  /** 'NCHW' (channels-first, default) or 'NHWC' (channels-last), for any spatial rank. */
  layout?: Layout;
}

export type GroupNormOptions = InstanceNormOptions;

export interface InstanceNormBackwardOptions {
  /** The forward's gamma (length C or N*C). Absent: 1. */
  gamma?: Float32Array;
  /** Accepted so that one options object can serve both passes; unused. */
  beta?: Float32Array;
  /** Used only when the statistics are recomputed (rstd absent). Default 1e-5. */
  eps?: number;
  /** The forward's saved mean (both or neither of mean and rstd). */
  mean?: Float32Array;
  /** The forward's saved 1/sqrt(var + eps). */
  rstd?: Float32Array;
  /** Output buffer for dx, length numel. May be `dy` or `x` itself. */
  dx?: Float32Array;
  /** Output buffer for dgamma: length C, or N*C in per-sample mode. */
  dgamma?: Float32Array;
  /** Output buffer for dbeta: length C, or N*C in per-sample mode. */
  dbeta?: Float32Array;
  layout?: Layout;
}

export type GroupNormBackwardOptions = InstanceNormBackwardOptions;

export interface NormGradients {
  dx: Float32Array;
  /** Summed over the batch (length C), or per sample (length N*C) when gamma was per sample. */
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/** Kept for compatibility with earlier releases. */
export type InstanceNormGradients = NormGradients;

const FORWARD_OPTIONS = new Set(['gamma', 'beta', 'eps', 'out', 'mean', 'rstd', 'layout'] as const);
const BACKWARD_OPTIONS = new Set(['gamma', 'beta', 'eps', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta', 'layout'] as const);

const dimsOf = (s: PlaneShape, lay: Layout): Dims => ({ n: s.n, c: s.c, s: s.m, layout: lay });

/** `groups` for group norm: an integer in [1, C] dividing C. */
function groupCount(v: unknown, c: number): number {
  const g = integer(v, 'groups', 1, c);
  if (c % g !== 0) throw new RangeError(`groups must divide C = ${c}, got ${g}`);
  return g;
}

interface ForwardCall {
  x: Float32Array; y: Float32Array; d: Dims; groups: number;
  gamma: Float32Array | null; beta: Float32Array | null; perSample: boolean; blend: number; eps: number;
  mean: Float32Array | null; rstd: Float32Array | null;
}

/** Validates a forward call (groups: null = instance norm). */
function forwardCall(fn: string, x: unknown, shape: unknown, groupsArg: unknown, options: unknown): ForwardCall {
  const o = optionsObject(options, fn, FORWARD_OPTIONS);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const groups = groupsArg === null ? s.c : groupCount(groupsArg, s.c);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const g = affineParam(o.gamma, 'options.gamma', s.n, s.c);
  const b = affineParam(o.beta, 'options.beta', s.n, s.c);
  if (g.a && b.a && g.perSample !== b.perSample && s.n > 1) {
    throw new RangeError('options.gamma and options.beta must both be per channel (length C) or both per sample (length N*C)');
  }
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const statLen = s.n * groups;
  const what = groupsArg === null ? 'N*C' : 'N*groups';
  const mean = optionalFloat32(o.mean, 'options.mean', statLen, what);
  const rstd = optionalFloat32(o.rstd, 'options.rstd', statLen, what);
  if (out || mean || rstd) {
    noOverlap([out, mean, rstd], ['options.out', 'options.mean', 'options.rstd'],
      [xs, g.a, b.a], ['x', 'options.gamma', 'options.beta'], 1);
  }
  return {
    x: xs, y: out ?? new Float32Array(s.numel), d: dimsOf(s, lay), groups,
    gamma: g.a, beta: b.a, perSample: (g.a ? g.perSample : b.perSample) && s.n > 1, blend: 0, eps, mean, rstd,
  };
}

interface BackwardCall {
  dy: Float32Array; x: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array;
  d: Dims; groups: number; gamma: Float32Array | null; perSample: boolean; blend: number;
  mean: Float32Array | null; rstd: Float32Array | null; eps: number;
}

function backwardCall(
  fn: string, dy: unknown, x: unknown, shape: unknown, groupsArg: unknown, options: unknown,
): BackwardCall {
  const o = optionsObject(options, fn, BACKWARD_OPTIONS);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const groups = groupsArg === null ? s.c : groupCount(groupsArg, s.c);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const g = affineParam(o.gamma, 'options.gamma', s.n, s.c);
  affineParam(o.beta, 'options.beta', s.n, s.c);
  const eps = epsilon(o.eps);
  const statLen = s.n * groups;
  const what = groupsArg === null ? 'N*C' : 'N*groups';
  const mean = optionalFloat32(o.mean, 'options.mean', statLen, what);
  const rstd = optionalFloat32(o.rstd, 'options.rstd', statLen, what);
  if ((mean === null) !== (rstd === null)) {
    throw new TypeError(`${fn}: options.mean and options.rstd must be given together (got only ${mean ? 'mean' : 'rstd'})`);
  }
  // Per-sample gradients when gamma is per sample, or (no gamma) when the
  // caller's dgamma/dbeta buffers have length N*C.
  let perSample = g.a ? g.perSample : false;
  if (!g.a) {
    for (const v of [o.dgamma, o.dbeta]) {
      if (types.isFloat32Array(v) && lengthOfArray(v) === s.n * s.c && s.n > 1) perSample = true;
    }
  }
  perSample = perSample && s.n > 1;
  const affLen = perSample ? s.n * s.c : s.c;
  const affWhat = perSample ? 'N*C (per-sample gamma)' : 'C';
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgamma = optionalFloat32(o.dgamma, 'options.dgamma', affLen, affWhat);
  const dbeta = optionalFloat32(o.dbeta, 'options.dbeta', affLen, affWhat);
  if (dx || dgamma || dbeta) {
    noOverlap([dx, dgamma, dbeta], ['options.dx', 'options.dgamma', 'options.dbeta'],
      [dys, xs, g.a, mean, rstd], ['dy', 'x', 'options.gamma', 'options.mean', 'options.rstd'], 2);
  }
  return {
    dy: dys, x: xs, dx: dx ?? new Float32Array(s.numel), dgamma: dgamma ?? new Float32Array(affLen),
    dbeta: dbeta ?? new Float32Array(affLen), d: dimsOf(s, lay), groups, gamma: g.a, perSample, blend: 0,
    mean, rstd, eps,
  };
}

const gradients = (a: BackwardCall): NormGradients => ({ dx: a.dx, dgamma: a.dgamma, dbeta: a.dbeta });

/**
 * Instance normalization of `x` with shape [N, C, ...spatial] (or
 * [N, ...spatial, C] with layout 'NHWC'):
 * `y = gamma * (x - mean[n,c]) / sqrt(var[n,c] + eps) + beta`, with the
 * biased variance of each (n, c) plane (as PyTorch and ONNX); gamma/beta
 * per channel (length C) or per sample (length N*C). Returns y.
 */
export function instanceNorm(x: Float32Array, shape: readonly number[], options?: InstanceNormOptions): Float32Array {
  const a = forwardCall('instanceNorm', x, shape, null, options);
  groupForward(active.kernels, a);
  return a.y;
}

/**
 * Gradients of {@link instanceNorm} given the upstream gradient `dy`. Uses
 * the forward's saved `rstd` when given (with `mean`), else recomputes the
 * statistics with `eps`; the mean is always recomputed exactly.
 */
export function instanceNormBackward(
  dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions,
): NormGradients {
  const a = backwardCall('instanceNormBackward', dy, x, shape, null, options);
  groupBackward(active.kernels, a);
  return gradients(a);
}

/**
 * Group normalization (Wu & He): statistics per (n, group of C/groups
 * consecutive channels) over those channels and all spatial positions;
 * affine per channel (or per sample). `groups === C` is instance norm,
 * `groups === 1` normalizes each sample over (C, spatial).
 */
export function groupNorm(
  x: Float32Array, shape: readonly number[], groups: number, options?: GroupNormOptions,
): Float32Array {
  const a = forwardCall('groupNorm', x, shape, groups, options);
  groupForward(active.kernels, a);
  return a.y;
}

/** Gradients of {@link groupNorm}; same conventions as {@link instanceNormBackward}. */
export function groupNormBackward(
  dy: Float32Array, x: Float32Array, shape: readonly number[], groups: number, options?: GroupNormBackwardOptions,
): NormGradients {
  const a = backwardCall('groupNormBackward', dy, x, shape, groups, options);
  groupBackward(active.kernels, a);
  return gradients(a);
}

const ASYNC_NAMES = ['x', 'out', 'options.gamma', 'options.beta', 'options.mean', 'options.rstd'];
const ASYNC_BACKWARD_NAMES = ['dy', 'x', 'dx', 'dgamma', 'dbeta', 'options.gamma', 'options.mean', 'options.rstd'];

/**
 * {@link instanceNorm} off the JS thread (native backend: a libuv worker,
 * using the same thread count). Channels-first only. Arguments are
 * validated before anything runs; a bad call returns a rejected promise.
 * The arrays are kept alive until the promise settles: do not read the
 * outputs, change the inputs, or transfer any of their buffers before
 * then. Resizable ArrayBuffers are refused.
 */
export async function instanceNormAsync(
  x: Float32Array, shape: readonly number[], options?: InstanceNormOptions,
): Promise<Float32Array> {
  const a = forwardCall('instanceNormAsync', x, shape, null, options);
  if (a.d.layout !== 'NCHW') throw new RangeError("instanceNormAsync: options.layout must be 'NCHW' (channels-last runs synchronously only)");
  fixedLength('instanceNormAsync', [a.x, a.y, a.gamma, a.beta, a.mean, a.rstd], ASYNC_NAMES);
  await active.kernels.groupNormForwardAsync(a.x, a.y, a.d.n, a.groups, 1, a.d.s, a.gamma, a.beta, a.perSample,
    0, a.eps, a.mean, a.rstd);
  return a.y;
}

/** {@link instanceNormBackward} off the JS thread; see {@link instanceNormAsync}. */
export async function instanceNormBackwardAsync(
  dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions,
): Promise<NormGradients> {
  const a = backwardCall('instanceNormBackwardAsync', dy, x, shape, null, options);
  if (a.d.layout !== 'NCHW') throw new RangeError("instanceNormBackwardAsync: options.layout must be 'NCHW' (channels-last runs synchronously only)");
  fixedLength('instanceNormBackwardAsync', [a.dy, a.x, a.dx, a.dgamma, a.dbeta, a.gamma, a.mean, a.rstd],
    ASYNC_BACKWARD_NAMES);
  await active.kernels.groupNormBackwardAsync(a.dy, a.x, a.dx, a.dgamma, a.dbeta, a.d.n, a.groups, 1, a.d.s,
    a.gamma, a.perSample, 0, a.mean, a.rstd, a.eps);
  return gradients(a);
}

// ---- conditional instance norm ----

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

/** The condition vector (Int32Array/Uint32Array, length N, values in [0, K)), read once. */
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

/** Rows condition[n] of a [K, C] table, as a per-sample [N, C] array. */
function gather(table: Float32Array, cond: Int32Array, c: number): Float32Array {
  const out = new Float32Array(cond.length * c);
  for (let i = 0; i < cond.length; i++) out.set(table.subarray(cond[i] * c, cond[i] * c + c), i * c);
  return out;
}

const CIN_OPTIONS = new Set(['eps', 'out', 'mean', 'rstd', 'layout'] as const);
const CIN_BACKWARD_OPTIONS = new Set(['eps', 'mean', 'rstd', 'dx', 'dgammaTable', 'dbetaTable', 'layout'] as const);

/**
 * Conditional instance norm (Dumoulin et al.): instance norm whose affine
 * for sample n is row condition[n] of the [K, C] tables (a style index, a
 * class, an upscale factor).
 */
export function conditionalInstanceNorm(
  x: Float32Array, shape: readonly number[], condition: Int32Array | Uint32Array,
  gammaTable: Float32Array, betaTable: Float32Array, options?: ConditionalInstanceNormOptions,
): Float32Array {
  const fn = 'conditionalInstanceNorm';
  const o = optionsObject(options, fn, CIN_OPTIONS);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const k = tableRows(gammaTable, betaTable, s.c);
  const cond = conditions(condition, s.n, k);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  if (out || mean || rstd) {
    noOverlap([out, mean, rstd], ['options.out', 'options.mean', 'options.rstd'],
      [xs, gammaTable, betaTable], ['x', 'gammaTable', 'betaTable'], 1);
  }
  const y = out ?? new Float32Array(s.numel);
  groupForward(active.kernels, {
    x: xs, y, d: dimsOf(s, lay), groups: s.c, gamma: gather(gammaTable, cond, s.c),
    beta: gather(betaTable, cond, s.c), perSample: true, blend: 0, eps, mean, rstd,
  });
  return y;
}

/** Gradients of {@link conditionalInstanceNorm}: dx and [K, C] table gradients. */
export function conditionalInstanceNormBackward(
  dy: Float32Array, x: Float32Array, shape: readonly number[], condition: Int32Array | Uint32Array,
  gammaTable: Float32Array, betaTable: Float32Array, options?: ConditionalInstanceNormBackwardOptions,
): ConditionalGradients {
  const fn = 'conditionalInstanceNormBackward';
  const o = optionsObject(options, fn, CIN_BACKWARD_OPTIONS);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const k = tableRows(gammaTable, betaTable, s.c);
  const cond = conditions(condition, s.n, k);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const eps = epsilon(o.eps);
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  if ((mean === null) !== (rstd === null)) {
    throw new TypeError(`${fn}: options.mean and options.rstd must be given together (got only ${mean ? 'mean' : 'rstd'})`);
  }
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgt = optionalFloat32(o.dgammaTable, 'options.dgammaTable', k * s.c, 'K*C');
  const dbt = optionalFloat32(o.dbetaTable, 'options.dbetaTable', k * s.c, 'K*C');
  if (dx || dgt || dbt) {
    noOverlap([dx, dgt, dbt], ['options.dx', 'options.dgammaTable', 'options.dbetaTable'],
      [dys, xs, gammaTable, betaTable, mean, rstd],
      ['dy', 'x', 'gammaTable', 'betaTable', 'options.mean', 'options.rstd'], 2);
  }
  const nc = s.n * s.c;
  const dgamma = new Float32Array(nc);
  const dbeta = new Float32Array(nc);
  const dxOut = dx ?? new Float32Array(s.numel);
  groupBackward(active.kernels, {
    dy: dys, x: xs, dx: dxOut, dgamma, dbeta, d: dimsOf(s, lay), groups: s.c,
    gamma: gather(gammaTable, cond, s.c), perSample: true, blend: 0, mean, rstd, eps,
  });
  // Scatter-add the per-sample rows into their table rows, in float64.
  const accG = new Float64Array(k * s.c);
  const accB = new Float64Array(k * s.c);
  for (let i = 0; i < s.n; i++) {
    const row = cond[i] * s.c;
    for (let c = 0; c < s.c; c++) {
      accG[row + c] += dgamma[i * s.c + c];
      accB[row + c] += dbeta[i * s.c + c];
    }
  }
  const dgammaTable = dgt ?? new Float32Array(k * s.c);
  const dbetaTable = dbt ?? new Float32Array(k * s.c);
  dgammaTable.set(accG);
  dbetaTable.set(accB);
  return { dx: dxOut, dgammaTable, dbetaTable };
}
