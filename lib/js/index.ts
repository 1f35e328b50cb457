/**
 * The pure-TS backend: the fallback when the native addon is unavailable,
 * and the tests' parity reference. The same ops as native/ops/, taking the
 * same descriptors, with every sum and intermediate in float64 (only stored
 * results are rounded to float32).
 *
 * It has no thread to move work to, so its async calls run the op at call
 * time, on the calling thread, and return a settled promise: no user code
 * can run in between, so no buffer can be transferred or resized under it.
 */
import type { Descriptors, OpName, OpRunner } from '../descriptors';
import { adaINBackward, adaINForward } from './adain';
import { batchNormBackward, batchNormForward } from './batch_norm';
import { groupNormBackward, groupNormForward } from './group_norm';
import { layerNormBackward, layerNormForward } from './layer_norm';
import { momentsOp } from './moments';
import { rmsNormBackward, rmsNormForward } from './rms_norm';

const OPS: { [K in OpName]: (d: Descriptors[K]) => void } = {
  groupNorm: groupNormForward,
  groupNormBackward,
  batchNorm: batchNormForward,
  batchNormBackward,
  layerNorm: layerNormForward,
  layerNormBackward,
  rmsNorm: rmsNormForward,
  rmsNormBackward,
  adaIN: adaINForward,
  adaINBackward,
  moments: momentsOp,
};

export const jsOps: OpRunner = {
  run<K extends OpName>(op: K, d: Descriptors[K]): void {
    OPS[op](d);
  },
  runAsync<K extends OpName>(op: K, d: Descriptors[K]): Promise<void> {
    try {
      OPS[op](d);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  },
};
