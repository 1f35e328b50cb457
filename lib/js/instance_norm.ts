/**
 * Instance norm on the pure-TS backend: group norm with G = C, cpg = 1, a
 * shared affine and no blend. Kept as direct entry points because the tests
 * and bench/ call them (dist/js/instance_norm.js) as the float64-accumulating
 * parity reference. `jsKernels` is re-exported for the same reason.
 */
import { groupNormBackward, groupNormForward } from './group_norm';

export { jsKernels } from './index';

/** x, y: [N, C, M]; mean/rstd (length N*C) are written when given. */
export function instanceNormForward(
  x: Float32Array, y: Float32Array, N: number, C: number, M: number,
  gamma: Float32Array | null, beta: Float32Array | null, eps: number,
  mean: Float32Array | null, rstd: Float32Array | null,
): void {
  groupNormForward(x, y, N, C, 1, M, gamma, beta, false, 0, eps, mean, rstd);
}

/** Gradients of instanceNormForward; dgamma/dbeta have length C. Uses the saved rstd when given. */
export function instanceNormBackward(
  dy: Float32Array, x: Float32Array, dx: Float32Array,
  dgamma: Float32Array, dbeta: Float32Array, N: number, C: number, M: number,
  gamma: Float32Array | null, mean: Float32Array | null, rstd: Float32Array | null, eps: number,
): void {
  groupNormBackward(dy, x, dx, dgamma, dbeta, N, C, 1, M, gamma, false, 0, mean, rstd, eps);
}
