/**
 * The pure-TS backend: the fallback when the native addon is unavailable,
 * and the tests' parity reference. Same semantics as the native kernels
 * (biased variance, eps inside the root, a constant group/row normalizes to
 * beta), but every sum and every intermediate is a float64; only the stored
 * results are rounded to float32.
 */
import type { AsyncKernels, Kernels } from '../kernels';
import { deferred } from './deferred';
import { groupNormBackward, groupNormForward } from './group_norm';
import { layerNormBackward, layerNormForward } from './layer_norm';
import {
  channelsLastAffine, channelsLastBackwardApply, channelsLastCoMoments, channelsLastMoments,
  planeAffine, planeBackwardApply, planeCoMoments, planeMoments,
} from './primitives';

export { groupNormBackward, groupNormForward } from './group_norm';
export { layerNormBackward, layerNormForward } from './layer_norm';
export {
  channelsLastAffine, channelsLastBackwardApply, channelsLastCoMoments, channelsLastMoments,
  planeAffine, planeBackwardApply, planeCoMoments, planeMoments,
} from './primitives';

export const jsKernels: Kernels & AsyncKernels = {
  groupNormForward,
  groupNormBackward,
  layerNormForward,
  layerNormBackward,
  planeMoments,
  planeCoMoments,
  planeAffine,
  planeBackwardApply,
  channelsLastMoments,
  channelsLastCoMoments,
  channelsLastAffine,
  channelsLastBackwardApply,
  groupNormForwardAsync: deferred(groupNormForward),
  groupNormBackwardAsync: deferred(groupNormBackward),
};
