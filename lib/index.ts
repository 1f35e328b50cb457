/**
 * instnorm: instance normalization and its family for Node.js.
 *
 * The facade owns the user's experience: each operation's module (lib/api/)
 * validates every argument before anything runs, allocates results that
 * were not supplied, and hands one call descriptor (lib/descriptors.ts) to
 * the backend chosen at load: the native op layer (native/ops/) or the
 * pure-TS one (lib/js/), which run the whole operation.
 */
import { active, checkThreads, type BackendInfo, type IsaName } from './backend';

export type { BackendInfo, IsaName };
export type { Layout } from './validate';
export {
  instanceNorm, instanceNormBackward, instanceNormAsync, instanceNormBackwardAsync,
} from './api/instance_norm';
export type {
  InstanceNormOptions, InstanceNormBackwardOptions, InstanceNormGradients, NormGradients,
} from './api/instance_norm';
export { groupNorm, groupNormBackward, groupNormAsync, groupNormBackwardAsync } from './api/group_norm';
export type { GroupNormOptions, GroupNormBackwardOptions } from './api/group_norm';
export {
  conditionalInstanceNorm, conditionalInstanceNormBackward, conditionalInstanceNormAsync,
  conditionalInstanceNormBackwardAsync,
} from './api/conditional_instance_norm';
export type {
  ConditionalInstanceNormOptions, ConditionalInstanceNormBackwardOptions, ConditionalGradients,
} from './api/conditional_instance_norm';
export { batchNorm, batchNormBackward, batchNormAsync, batchNormBackwardAsync } from './api/batch_norm';
export type { BatchNormOptions, BatchNormBackwardOptions, BatchStats, BatchNormGradients } from './api/batch_norm';
export { layerNorm, layerNormBackward, layerNormAsync, layerNormBackwardAsync } from './api/layer_norm';
export type { LayerNormOptions, LayerNormBackwardOptions, LayerNormGradients } from './api/layer_norm';
export { rmsNorm, rmsNormBackward, rmsNormAsync, rmsNormBackwardAsync } from './api/rms_norm';
export type { RmsNormOptions, RmsNormBackwardOptions, RmsNormGradients } from './api/rms_norm';
export { adaIN, adaINBackward, adaINAsync, adaINBackwardAsync } from './api/adain';
export type { AdaINOptions, AdaINBackwardOptions, AdaINGradients } from './api/adain';
export { moments, momentsAsync, mergeMoments } from './api/moments';
export type { Moments, MomentsOptions, MomentsOver } from './api/moments';

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
