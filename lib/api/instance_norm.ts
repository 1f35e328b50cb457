/**
 * Instance normalization: statistics per (sample, channel) over the
 * spatial dims, affine per channel or per sample, in either layout. It is
 * group norm with groups = C (./group_args.ts builds the descriptor).
 */
import { type Async, asyncOf, syncOf } from '../call';
import {
  backwardCall, forwardCall, type InstanceNormBackwardOptions, type InstanceNormOptions, type NormGradients,
} from './group_args';

export type { InstanceNormBackwardOptions, InstanceNormOptions, NormGradients };

/** Kept for compatibility with earlier releases. */
export type InstanceNormGradients = NormGradients;

type Forward = (x: Float32Array, shape: readonly number[], options?: InstanceNormOptions) => Float32Array;
type Backward = (dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions) => NormGradients;

const forward = (fn: string, x: Float32Array, shape: readonly number[], options?: InstanceNormOptions) =>
  forwardCall(fn, x, shape, null, options, true);
const backward = (fn: string, dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions) =>
  backwardCall(fn, dy, x, shape, null, options, true);

/**
 * Instance normalization of `x` with shape [N, C, ...spatial] (or
 * [N, ...spatial, C] with layout 'NHWC'):
 * `y = gamma * (x - mean[n,c]) / sqrt(var[n,c] + eps) + beta`, with the
 * biased variance of each (n, c) plane (as PyTorch and ONNX); gamma/beta
 * per channel (length C) or per sample (length N*C). Returns y.
 */
export const instanceNorm: Forward = syncOf('instanceNorm', forward);

/**
 * Gradients of {@link instanceNorm} given the upstream gradient `dy`. Uses
 * the forward's saved `rstd` when given (with `mean`), else recomputes the
 * statistics with `eps`; the mean is always recomputed exactly.
 */
export const instanceNormBackward: Backward = syncOf('instanceNormBackward', backward);

/**
 * {@link instanceNorm} off the JS thread (native backend: a libuv worker,
 * using the same thread count), in either layout. Arguments are validated
 * before anything runs; a bad call returns a rejected promise. Arrays on a
 * SharedArrayBuffer are used in place; any other array is copied at the
 * call (and outputs back when the work is done), so transferring or
 * resizing a buffer meanwhile cannot crash the process: the promise then
 * rejects and nothing is written. Resizable ArrayBuffers are refused.
 */
export const instanceNormAsync: Async<Forward> = asyncOf('instanceNormAsync', forward);

/** {@link instanceNormBackward} off the JS thread; see {@link instanceNormAsync}. */
export const instanceNormBackwardAsync: Async<Backward> = asyncOf('instanceNormBackwardAsync', backward);
