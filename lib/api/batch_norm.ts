/**
 * Batch normalization (PyTorch F.batch_norm semantics): statistics per
 * channel over (N, spatial). Training mode normalizes with the batch's
 * statistics (or precomputed ones, for synchronised batch norm) and updates
 * the running statistics; inference mode is a single fused affine pass with
 * the running statistics.
 */
import { type Async, type Call, Outputs, asyncOf, syncOf } from '../call';
import {
  boolean, epsilon, float32, floatArray, integer, layout, noOverlap, numberIn, optionalFloat32, optionsObject,
  planeShape, describe, type Layout, savedTogether,
} from '../validate';

export interface BatchStats {
  /** Per-channel mean, length C. */
  mean: Float32Array | Float64Array;
  /** Per-channel biased variance (M2 / count), length C. */
  var: Float32Array | Float64Array;
  /** How many elements the statistics cover (for the unbiased running variance). Default N*spatial. */
  count?: number;
}

export interface BatchNormOptions {
  gamma?: Float32Array;
  beta?: Float32Array;
  eps?: number;
  /** Default false (inference: normalize with runningMean/runningVar). */
  training?: boolean;
  /** Length C. Required in inference mode; updated in place in training mode. */
  runningMean?: Float32Array;
  /** Length C. Required in inference mode; updated in place (unbiased) in training mode. */
  runningVar?: Float32Array;
  /** Weight of the new statistics in the running update. Default 0.1, in [0, 1]. */
  momentum?: number;
  out?: Float32Array;
  /** Filled with the per-channel mean used. */
  mean?: Float32Array;
  /** Filled with the per-channel 1/sqrt(var + eps) used. */
  rstd?: Float32Array;
  /** Training mode: statistics to use instead of the batch's own (e.g. merged across workers). */
  stats?: BatchStats;
  /**
   * Training mode: update runningVar with the unbiased batch variance
   * (true, the default: PyTorch) or the biased one (false: ONNX
   * BatchNormalization). ONNX's `momentum` is the weight of the old value:
   * pass 1 - momentum here.
   */
  unbiasedRunningVar?: boolean;
  layout?: Layout;
}

export interface BatchNormBackwardOptions {
  gamma?: Float32Array;
  /** Accepted so one options object serves both passes; unused. */
  beta?: Float32Array;
  eps?: number;
  training?: boolean;
  runningMean?: Float32Array;
  runningVar?: Float32Array;
  /** Accepted so one options object serves both passes; unused. */
  momentum?: number;
  /** The forward's saved mean (training; both or neither with rstd). */
  mean?: Float32Array;
  /** The forward's saved rstd (training). */
  rstd?: Float32Array;
  dx?: Float32Array;
  dgamma?: Float32Array;
  dbeta?: Float32Array;
  layout?: Layout;
}

const FORWARD = new Set(['gamma', 'beta', 'eps', 'training', 'runningMean', 'runningVar', 'momentum', 'out',
  'mean', 'rstd', 'stats', 'layout', 'unbiasedRunningVar'] as const);
const BACKWARD = new Set(['gamma', 'beta', 'eps', 'training', 'runningMean', 'runningVar', 'momentum', 'mean',
  'rstd', 'dx', 'dgamma', 'dbeta', 'layout'] as const);

const STATS_KEYS = new Set(['mean', 'var', 'count'] as const);

/** options.stats, copied into float64 arrays (read once, checked, then used). */
function batchStats(v: unknown, c: number, defaultCount: number): { mean: Float64Array; variance: Float64Array; count: number } {
  const o = optionsObject(v, 'batchNorm: options.stats', STATS_KEYS);
  if (typeof v !== 'object' || v === null) throw new TypeError(`options.stats must be an object { mean, var, count? }, got ${describe(v)}`);
  const mean = floatArray(o.mean, 'options.stats.mean', c, 'C');
  const variance = floatArray(o.var, 'options.stats.var', c, 'C');
  const count = o.count === undefined || o.count === null ? defaultCount
    : integer(o.count, 'options.stats.count', 1, Number.MAX_SAFE_INTEGER);
  const m = new Float64Array(c);
  const q = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    m[i] = mean[i];
    q[i] = variance[i];
    if (!(q[i] >= 0) || !Number.isFinite(q[i])) {
      throw new RangeError(`options.stats.var[${i}] must be a finite number >= 0, got ${q[i]}`);
    }
  }
  return { mean: m, variance: q, count };
}


export interface BatchNormGradients {
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

function forward(fn: string, x: Float32Array, shape: readonly number[], options?: BatchNormOptions): Call<'batchNorm', Float32Array> {
  const o = optionsObject(options, fn, FORWARD);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay, 0);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.c, 'C');
  const beta = optionalFloat32(o.beta, 'options.beta', s.c, 'C');
  const eps = epsilon(o.eps);
  const training = boolean(o.training, 'options.training', false);
  const momentum = numberIn(o.momentum, 'options.momentum', 0, 1, 0.1);
  const rm = optionalFloat32(o.runningMean, 'options.runningMean', s.c, 'C');
  const rv = optionalFloat32(o.runningVar, 'options.runningVar', s.c, 'C');
  if ((rm === null) !== (rv === null)) {
    throw new TypeError(`${fn}: options.runningMean and options.runningVar must be given together`);
  }
  if (!training && !rm && (o.stats === undefined || o.stats === null)) {
    throw new TypeError(`${fn}: inference mode (training: false) needs options.runningMean and options.runningVar (or options.stats)`);
  }
  const unbiasedRunning = boolean(o.unbiasedRunningVar, 'options.unbiasedRunningVar', true);
  const count = s.n * s.m;
  const given = o.stats === undefined || o.stats === null ? null : batchStats(o.stats, s.c, count);
  if (training && rm && unbiasedRunning && (given ? given.count : count) < 2) {
    throw new RangeError(`${fn}: training needs more than 1 value per channel to update the running variance, got ${count}`);
  }
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const mean = optionalFloat32(o.mean, 'options.mean', s.c, 'C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.c, 'C');
  noOverlap([out, mean, rstd, rm, rv], ['options.out', 'options.mean', 'options.rstd', 'options.runningMean', 'options.runningVar'],
    [xs, gamma, beta], ['x', 'options.gamma', 'options.beta'], 1);
  const outs = new Outputs();
  const y = outs.f32(out, s.numel, 'out');
  return {
    op: 'batchNorm',
    desc: {
      n: s.n, c: s.c, s: s.m, channelsLast: lay === 'NHWC', training, haveStats: given !== null,
      unbiasedRunning, statsCount: given ? given.count : count, momentum, eps, x: xs, out: y, gamma, beta,
      statsMean: given ? outs.own(given.mean, 'statsMean') : null,
      statsVar: given ? outs.own(given.variance, 'statsVar') : null,
      runningMean: rm, runningVar: rv, mean, rstd,
    },
    result: y,
    fresh: outs.fresh,
    names: { statsMean: 'options.stats.mean', statsVar: 'options.stats.var' },
  };
}

function backward(
  fn: string, dy: Float32Array, x: Float32Array, shape: readonly number[], options?: BatchNormBackwardOptions,
): Call<'batchNormBackward', BatchNormGradients> {
  const o = optionsObject(options, fn, BACKWARD);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay, 0);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.c, 'C');
  optionalFloat32(o.beta, 'options.beta', s.c, 'C');
  const eps = epsilon(o.eps);
  const training = boolean(o.training, 'options.training', false);
  numberIn(o.momentum, 'options.momentum', 0, 1, 0.1);
  const rm = optionalFloat32(o.runningMean, 'options.runningMean', s.c, 'C');
  const rv = optionalFloat32(o.runningVar, 'options.runningVar', s.c, 'C');
  if (!training && (!rm || !rv)) {
    throw new TypeError(`${fn}: inference mode (training: false) needs options.runningMean and options.runningVar`);
  }
  const mean = optionalFloat32(o.mean, 'options.mean', s.c, 'C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.c, 'C');
  savedTogether(fn, mean, rstd);
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgamma = optionalFloat32(o.dgamma, 'options.dgamma', s.c, 'C');
  const dbeta = optionalFloat32(o.dbeta, 'options.dbeta', s.c, 'C');
  noOverlap([dx, dgamma, dbeta], ['options.dx', 'options.dgamma', 'options.dbeta'],
    [dys, xs, gamma, mean, rstd, rm, rv], ['dy', 'x', 'options.gamma', 'options.mean', 'options.rstd',
      'options.runningMean', 'options.runningVar'], 2);
  const outs = new Outputs();
  const r = { dx: outs.f32(dx, s.numel, 'dx'), dgamma: outs.f32(dgamma, s.c, 'dgamma'), dbeta: outs.f32(dbeta, s.c, 'dbeta') };
  return {
    op: 'batchNormBackward',
    desc: {
      n: s.n, c: s.c, s: s.m, channelsLast: lay === 'NHWC', training, eps, dy: dys, x: xs, dx: r.dx,
      dgamma: r.dgamma, dbeta: r.dbeta, gamma, mean: training ? mean : null, rstd: training ? rstd : null,
      runningMean: training ? null : rm, runningVar: training ? null : rv,
    },
    result: r,
    fresh: outs.fresh,
  };
}

type Forward = (x: Float32Array, shape: readonly number[], options?: BatchNormOptions) => Float32Array;
type Backward = (dy: Float32Array, x: Float32Array, shape: readonly number[], options?: BatchNormBackwardOptions) => BatchNormGradients;

/**
 * Batch normalization of x ([N, C, ...spatial], or channels-last).
 * Training: y uses the batch statistics, and runningMean/runningVar (when
 * given) become (1 - momentum) * running + momentum * batch, with the
 * unbiased batch variance (as PyTorch). Inference: y uses the running
 * statistics. Returns y.
 */
export const batchNorm: Forward = syncOf('batchNorm', forward);

/**
 * Gradients of {@link batchNorm}. Training: the full batch-statistics
 * gradient (dx of each sample depends on the whole batch); uses the saved
 * rstd when given (the mean is recomputed exactly). Inference: the running
 * statistics are constants, dx = gamma * dy / sqrt(runningVar + eps).
 */
export const batchNormBackward: Backward = syncOf('batchNormBackward', backward);

/** {@link batchNorm} off the JS thread; see instanceNormAsync. */
export const batchNormAsync: Async<Forward> = asyncOf('batchNormAsync', forward);

/** {@link batchNormBackward} off the JS thread; see instanceNormAsync. */
export const batchNormBackwardAsync: Async<Backward> = asyncOf('batchNormBackwardAsync', backward);
