/**
 * instnorm: instance normalization and its family for Node.js.
 *
 * The facade owns the user's experience: each operation's module validates
 * every argument (before any kernel runs), allocates results that were not
 * supplied, and hands the work to the backend chosen at load (native SIMD
 * or pure TS). Operations that combine statistics across planes are
 * composed from the backend's primitives in lib/ops/.
 */
import { active, checkThreads, type BackendInfo, type IsaName } from './backend';

export type { BackendInfo, IsaName };
export type { Layout } from './validate';
export {
  instanceNorm, instanceNormBackward, instanceNormAsync, instanceNormBackwardAsync,
  groupNorm, groupNormBackward, conditionalInstanceNorm, conditionalInstanceNormBackward,
} from './group_norm';
export type {
  InstanceNormOptions, InstanceNormBackwardOptions, InstanceNormGradients, GroupNormOptions,
  GroupNormBackwardOptions, NormGradients, ConditionalInstanceNormOptions,
  ConditionalInstanceNormBackwardOptions, ConditionalGradients,
} from './group_norm';
export { batchNorm, batchNormBackward } from './batch_norm';
export type { BatchNormOptions, BatchNormBackwardOptions, BatchStats } from './batch_norm';
export { layerNorm, layerNormBackward } from './layer_norm';
export type { LayerNormOptions, LayerNormBackwardOptions } from './layer_norm';
export { adaIN, adaINBackward } from './adain';
export type { AdaINOptions, AdaINBackwardOptions } from './adain';
export { moments, mergeMoments } from './moments';
export type { Moments, MomentsOptions, MomentsOver } from './moments';

/**
 * Sets how many threads the native kernels may use (1 to 1024; default:
 * INSTNORM_THREADS, else all cores). Tensors below 256Ki elements always
 * run on the calling thread. Results are bit-identical for every thread count.
 * On the JS backend this is validated and has no effect (it has one thread).
 */
export function setThreads(n: number): void {
  const t = checkThreads(n, 'threads');
  if (active.native) {
    active.native.setThreads(t);
    active.info.threads = t;
  }
}

/** The thread count in use (always 1 on the JS backend). */
export function getThreads(): number {
  return active.info.threads;
}

/** The backend in use: native (with its ISA and threads) or js (with the reason). */
export function backend(): BackendInfo {
  return { ...active.info };
}
