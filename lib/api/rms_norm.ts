/**
 * RMS normalization (Zhang & Sennrich, 2019; the normalization of
 * Llama-style transformers): each row (the last normalizedRank dims)
 * scaled by 1/sqrt(mean(x^2) + eps), then by an elementwise gamma. No
 * mean subtraction, no beta.
 */
import { type Async, type Call, Outputs, asyncOf, syncOf } from '../call';
import { epsilon, float32, noOverlap, optionalFloat32, optionsObject } from '../validate';
import { rowsOf } from './layer_norm';

export interface RmsNormOptions {
  /** Elementwise scale, length = product of the normalized dims. Absent: 1. */
  gamma?: Float32Array;
  /** Added to mean(x^2) inside the square root. Default 1e-5; finite, >= 0. */
  eps?: number;
  /** Output buffer, length numel. May be `x` itself (in place). */
  out?: Float32Array;
  /** Filled with each row's 1/sqrt(mean(x^2) + eps), length = product of the leading dims. */
  rstd?: Float32Array;
}

export interface RmsNormBackwardOptions {
  gamma?: Float32Array;
  /** Used only when rstd is recomputed (not given). Default 1e-5. */
  eps?: number;
  /** The forward's saved rstd. */
  rstd?: Float32Array;
  /** Output buffer for dx. May be `dy` or `x` itself. */
  dx?: Float32Array;
  /** Output buffer for dgamma (summed over the rows). */
  dgamma?: Float32Array;
}

export interface RmsNormGradients {
  dx: Float32Array;
  dgamma: Float32Array;
}

const FORWARD = new Set(['gamma', 'eps', 'out', 'rstd'] as const);
const BACKWARD = new Set(['gamma', 'eps', 'rstd', 'dx', 'dgamma'] as const);
const NORMALIZED = 'the product of the normalized dims';
const LEADING = 'the product of the leading dims';

function forward(
  fn: string, x: Float32Array, shape: readonly number[], normalizedRank: number, options?: RmsNormOptions,
): Call<'rmsNorm', Float32Array> {
  const o = optionsObject(options, fn, FORWARD);
  const s = rowsOf(shape, normalizedRank);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.len, NORMALIZED);
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.rows, LEADING);
  if (out || rstd) noOverlap([out, rstd], ['options.out', 'options.rstd'], [xs, gamma], ['x', 'options.gamma'], 1);
  const outs = new Outputs();
  const y = outs.f32(out, s.numel, 'out');
  return { op: 'rmsNorm', desc: { rows: s.rows, len: s.len, eps, x: xs, out: y, gamma, rstd }, result: y, fresh: outs.fresh };
}

function backward(
  fn: string, dy: Float32Array, x: Float32Array, shape: readonly number[], normalizedRank: number,
  options?: RmsNormBackwardOptions,
): Call<'rmsNormBackward', RmsNormGradients> {
  const o = optionsObject(options, fn, BACKWARD);
  const s = rowsOf(shape, normalizedRank);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.len, NORMALIZED);
  const eps = epsilon(o.eps);
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.rows, LEADING);
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgamma = optionalFloat32(o.dgamma, 'options.dgamma', s.len, NORMALIZED);
  if (dx || dgamma) {
    noOverlap([dx, dgamma], ['options.dx', 'options.dgamma'], [dys, xs, gamma, rstd],
      ['dy', 'x', 'options.gamma', 'options.rstd'], 2);
  }
  const outs = new Outputs();
  const r = { dx: outs.f32(dx, s.numel, 'dx'), dgamma: outs.f32(dgamma, s.len, 'dgamma') };
  return {
    op: 'rmsNormBackward',
    desc: { rows: s.rows, len: s.len, eps, dy: dys, x: xs, dx: r.dx, dgamma: r.dgamma, gamma, rstd },
    result: r,
    fresh: outs.fresh,
  };
}

type Forward = (x: Float32Array, shape: readonly number[], normalizedRank: number, options?: RmsNormOptions) => Float32Array;
type Backward = (
  dy: Float32Array, x: Float32Array, shape: readonly number[], normalizedRank: number, options?: RmsNormBackwardOptions,
) => RmsNormGradients;

/** RMS norm of each row (the last normalizedRank dims): y = gamma * x / sqrt(mean(x^2) + eps). Returns y. */
export const rmsNorm: Forward = syncOf('rmsNorm', forward);

/** Gradients of {@link rmsNorm}: dx and dgamma (summed over the rows). */
export const rmsNormBackward: Backward = syncOf('rmsNormBackward', backward);

/** {@link rmsNorm} off the JS thread; see instanceNormAsync. */
export const rmsNormAsync: Async<Forward> = asyncOf('rmsNormAsync', forward);

/** {@link rmsNormBackward} off the JS thread; see instanceNormAsync. */
export const rmsNormBackwardAsync: Async<Backward> = asyncOf('rmsNormBackwardAsync', backward);
