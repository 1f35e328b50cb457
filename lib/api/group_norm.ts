/**
 * Group normalization (Wu & He, 2018): statistics per (sample, group of
 * C/groups consecutive channels) over those channels and all spatial
 * positions; affine per channel (or per sample).
 */
import { type Async, asyncOf, syncOf } from '../call';
import {
  backwardCall, forwardCall, type InstanceNormBackwardOptions, type InstanceNormOptions, type NormGradients,
} from './group_args';

export type GroupNormOptions = InstanceNormOptions;
export type GroupNormBackwardOptions = InstanceNormBackwardOptions;

type Forward = (x: Float32Array, shape: readonly number[], groups: number, options?: GroupNormOptions) => Float32Array;
type Backward = (
  dy: Float32Array, x: Float32Array, shape: readonly number[], groups: number, options?: GroupNormBackwardOptions,
) => NormGradients;

const forward = (fn: string, x: Float32Array, shape: readonly number[], groups: number, options?: GroupNormOptions) =>
  forwardCall(fn, x, shape, groups, options, false);
const backward = (
  fn: string, dy: Float32Array, x: Float32Array, shape: readonly number[], groups: number, options?: GroupNormBackwardOptions,
) => backwardCall(fn, dy, x, shape, groups, options, false);

/**
 * Group normalization: `groups === C` is instance norm, `groups === 1`
 * normalizes each sample over (C, spatial). Returns y.
 */
export const groupNorm: Forward = syncOf('groupNorm', forward);

/** Gradients of {@link groupNorm}; same conventions as instanceNormBackward. */
export const groupNormBackward: Backward = syncOf('groupNormBackward', backward);

/** {@link groupNorm} off the JS thread; see instanceNormAsync. */
export const groupNormAsync: Async<Forward> = asyncOf('groupNormAsync', forward);

/** {@link groupNormBackward} off the JS thread; see instanceNormAsync. */
export const groupNormBackwardAsync: Async<Backward> = asyncOf('groupNormBackwardAsync', backward);
