/**
 * instnorm: instance normalization for Node.js.
 *
 * This facade owns the user's experience: it validates every argument
 * (before any kernel runs), allocates results that were not supplied, and
 * hands the work to the backend chosen at load (native SIMD or pure TS).
 */
import { active, type BackendInfo, type IsaName } from './backend';
import {
  epsilon, float32, noOverlap, optionalFloat32, optionsObject, planeShape,
} from './validate';

export type { BackendInfo, IsaName };

export interface InstanceNormOptions {
  /** Per-channel scale, length C. Absent: 1. */
  gamma?: Float32Array;
  /** Per-channel shift, length C. Absent: 0. */
  beta?: Float32Array;
  /** Added to the variance inside the square root. Default 1e-5; finite, >= 0. */
  eps?: number;
  /** Output buffer, length numel. May be `x` itself (in place). */
  out?: Float32Array;
  /** Filled with the per-plane mean, length N*C. */
  mean?: Float32Array;
  /** Filled with the per-plane 1/sqrt(var + eps), length N*C. */
  rstd?: Float32Array;
}

export interface InstanceNormBackwardOptions {
  /** The forward's gamma, length C. Absent: 1. */
  gamma?: Float32Array;
  /** Accepted so that one options object can serve both passes; unused (beta does not enter the gradients). */
  beta?: Float32Array;
  /** Used only when the statistics are recomputed (mean/rstd absent). Default 1e-5. */
  eps?: number;
  /** The forward's per-plane mean, length N*C (both or neither of mean and rstd). */
  mean?: Float32Array;
  /** The forward's per-plane 1/sqrt(var + eps), length N*C. */
  rstd?: Float32Array;
  /** Output buffer for dx, length numel. May be `dy` or `x` itself. */
  dx?: Float32Array;
  /** Output buffer for dgamma, length C. */
  dgamma?: Float32Array;
  /** Output buffer for dbeta, length C. */
  dbeta?: Float32Array;
}

export interface InstanceNormGradients {
  dx: Float32Array;
  /** Summed over the batch, length C. */
  dgamma: Float32Array;
  /** Summed over the batch, length C. */
  dbeta: Float32Array;
}

const FORWARD_OPTIONS = ['gamma', 'beta', 'eps', 'out', 'mean', 'rstd'] as const;
const BACKWARD_OPTIONS = ['gamma', 'beta', 'eps', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta'] as const;

/**
 * Instance normalization of `x` with shape [N, C, ...spatial]:
 * `y = gamma[c] * (x - mean[n,c]) / sqrt(var[n,c] + eps) + beta[c]`, with
 * the biased variance of each (n, c) plane (as PyTorch and ONNX).
 * Returns y (`options.out` when given).
 */
export function instanceNorm(
  x: Float32Array, shape: readonly number[], options?: InstanceNormOptions,
): Float32Array {
  const fn = 'instanceNorm';
  const s = planeShape(shape);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const o = optionsObject(options, fn, FORWARD_OPTIONS);
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.c, 'C');
  const beta = optionalFloat32(o.beta, 'options.beta', s.c, 'C');
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  noOverlap(
    [['options.out', out], ['options.mean', mean], ['options.rstd', rstd]],
    [['x', xs], ['options.gamma', gamma], ['options.beta', beta]],
    ['x'],
  );
  const y = out ?? new Float32Array(s.numel);
  active.kernels.instanceNormForward(xs, y, s.n, s.c, s.m, gamma, beta, eps, mean, rstd);
  return y;
}

/**
 * Gradients of {@link instanceNorm} given the upstream gradient `dy`.
 * Uses the forward's saved `mean`/`rstd` when given (a saved float32 mean
 * is refined to full precision in the same pass), else recomputes them
 * from `x` with `eps`.
 */
export function instanceNormBackward(
  dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions,
): InstanceNormGradients {
  const fn = 'instanceNormBackward';
  const s = planeShape(shape);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const o = optionsObject(options, fn, BACKWARD_OPTIONS);
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.c, 'C');
  optionalFloat32(o.beta, 'options.beta', s.c, 'C');
  const eps = epsilon(o.eps);
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  if ((mean === null) !== (rstd === null)) {
    throw new TypeError(`${fn}: options.mean and options.rstd must be given together (got only ${mean ? 'mean' : 'rstd'})`);
  }
  const dxOut = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgOut = optionalFloat32(o.dgamma, 'options.dgamma', s.c, 'C');
  const dbOut = optionalFloat32(o.dbeta, 'options.dbeta', s.c, 'C');
  noOverlap(
    [['options.dx', dxOut], ['options.dgamma', dgOut], ['options.dbeta', dbOut]],
    [['dy', dys], ['x', xs], ['options.gamma', gamma], ['options.mean', mean], ['options.rstd', rstd]],
    ['dy', 'x'],
  );
  const dx = dxOut ?? new Float32Array(s.numel);
  const dgamma = dgOut ?? new Float32Array(s.c);
  const dbeta = dbOut ?? new Float32Array(s.c);
  active.kernels.instanceNormBackward(dys, xs, dx, dgamma, dbeta, s.n, s.c, s.m, gamma, mean, rstd, eps);
  return { dx, dgamma, dbeta };
}

/** The backend in use: native (with its ISA) or js (with the reason). */
export function backend(): BackendInfo {
  return { ...active.info };
}
