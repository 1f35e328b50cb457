/**
 * Layer normalization (PyTorch F.layer_norm / ONNX LayerNormalization):
 * statistics over the last `normalizedRank` dims, elementwise affine of
 * that size. The transformer case is [batch, tokens, hidden] with
 * normalizedRank = 1.
 */
import { type Async, type Call, Outputs, asyncOf, syncOf } from '../call';
import {
  dimsOf, epsilon, float32, integer, noOverlap, optionalFloat32, optionsObject, savedTogether,
} from '../validate';

export interface LayerNormOptions {
  /** Elementwise scale, length = product of the normalized dims. Absent: 1. */
  gamma?: Float32Array;
  /** Elementwise shift, same length. Absent: 0. */
  beta?: Float32Array;
  eps?: number;
  out?: Float32Array;
  /** Filled with each row's mean, length = product of the leading dims. */
  mean?: Float32Array;
  /** Filled with each row's 1/sqrt(var + eps). */
  rstd?: Float32Array;
}

export interface LayerNormBackwardOptions {
  gamma?: Float32Array;
  /** Accepted so one options object serves both passes; unused. */
  beta?: Float32Array;
  eps?: number;
  mean?: Float32Array;
  rstd?: Float32Array;
  dx?: Float32Array;
  dgamma?: Float32Array;
  dbeta?: Float32Array;
}

const FORWARD = new Set(['gamma', 'beta', 'eps', 'out', 'mean', 'rstd'] as const);
const BACKWARD = new Set(['gamma', 'beta', 'eps', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta'] as const);

export function rowsOf(shape: unknown, normalizedRank: unknown): { rows: number; len: number; numel: number } {
  const dims = dimsOf(shape, 'shape', 1, '[...leading, ...normalized]');
  const k = integer(normalizedRank, 'normalizedRank', 1, dims.length);
  let rows = 1;
  let len = 1;
  for (let i = 0; i < dims.length; i++) {
    if (i < dims.length - k) rows *= dims[i];
    else len *= dims[i];
  }
  return { rows, len, numel: rows * len };
}

export interface LayerNormGradients {
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

function forward(
  fn: string, x: Float32Array, shape: readonly number[], normalizedRank: number, options?: LayerNormOptions,
): Call<'layerNorm', Float32Array> {
  const o = optionsObject(options, fn, FORWARD);
  const s = rowsOf(shape, normalizedRank);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.len, 'the product of the normalized dims');
  const beta = optionalFloat32(o.beta, 'options.beta', s.len, 'the product of the normalized dims');
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const mean = optionalFloat32(o.mean, 'options.mean', s.rows, 'the product of the leading dims');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.rows, 'the product of the leading dims');
  if (out || mean || rstd) {
    noOverlap([out, mean, rstd], ['options.out', 'options.mean', 'options.rstd'],
      [xs, gamma, beta], ['x', 'options.gamma', 'options.beta'], 1);
  }
  const outs = new Outputs();
  const y = outs.f32(out, s.numel, 'out');
  return {
    op: 'layerNorm', desc: { rows: s.rows, len: s.len, eps, x: xs, out: y, gamma, beta, mean, rstd },
    result: y, fresh: outs.fresh,
  };
}

function backward(
  fn: string, dy: Float32Array, x: Float32Array, shape: readonly number[], normalizedRank: number,
  options?: LayerNormBackwardOptions,
): Call<'layerNormBackward', LayerNormGradients> {
  const o = optionsObject(options, fn, BACKWARD);
  const s = rowsOf(shape, normalizedRank);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.len, 'the product of the normalized dims');
  optionalFloat32(o.beta, 'options.beta', s.len, 'the product of the normalized dims');
  const eps = epsilon(o.eps);
  const mean = optionalFloat32(o.mean, 'options.mean', s.rows, 'the product of the leading dims');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.rows, 'the product of the leading dims');
  savedTogether(fn, mean, rstd);
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgamma = optionalFloat32(o.dgamma, 'options.dgamma', s.len, 'the product of the normalized dims');
  const dbeta = optionalFloat32(o.dbeta, 'options.dbeta', s.len, 'the product of the normalized dims');
  if (dx || dgamma || dbeta) {
    noOverlap([dx, dgamma, dbeta], ['options.dx', 'options.dgamma', 'options.dbeta'],
      [dys, xs, gamma, mean, rstd], ['dy', 'x', 'options.gamma', 'options.mean', 'options.rstd'], 2);
  }
  const outs = new Outputs();
  const r = {
    dx: outs.f32(dx, s.numel, 'dx'), dgamma: outs.f32(dgamma, s.len, 'dgamma'), dbeta: outs.f32(dbeta, s.len, 'dbeta'),
  };
  return {
    op: 'layerNormBackward',
    desc: { rows: s.rows, len: s.len, eps, dy: dys, x: xs, dx: r.dx, dgamma: r.dgamma, dbeta: r.dbeta, gamma, mean, rstd },
    result: r,
    fresh: outs.fresh,
  };
}

type Forward = (x: Float32Array, shape: readonly number[], normalizedRank: number, options?: LayerNormOptions) => Float32Array;
type Backward = (
  dy: Float32Array, x: Float32Array, shape: readonly number[], normalizedRank: number, options?: LayerNormBackwardOptions,
) => LayerNormGradients;

/** Layer norm: each row (the last normalizedRank dims) normalized over itself. Returns y. */
export const layerNorm: Forward = syncOf('layerNorm', forward);

/** Gradients of {@link layerNorm}; dgamma/dbeta summed over the rows. */
export const layerNormBackward: Backward = syncOf('layerNormBackward', backward);

/** {@link layerNorm} off the JS thread; see instanceNormAsync. */
export const layerNormAsync: Async<Forward> = asyncOf('layerNormAsync', forward);

/** {@link layerNormBackward} off the JS thread; see instanceNormAsync. */
export const layerNormBackwardAsync: Async<Backward> = asyncOf('layerNormBackwardAsync', backward);
