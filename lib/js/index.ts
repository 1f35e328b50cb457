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
import { types } from 'node:util';
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

type Typed = Float32Array | Float64Array | Int32Array;

/**
 * Two SharedArrayBuffer objects can share memory (one came back through
 * postMessage or structuredClone), which JavaScript cannot see: where a
 * call holds arrays on more than one, it runs on private copies of them,
 * and the copies that changed (the outputs) are written back after. The
 * results are those of separate arrays (the native backend, which sees the
 * addresses, refuses an output over an input instead).
 */
function run<K extends OpName>(op: K, d: Descriptors[K]): void {
  const shared = Object.entries(d).filter(
    ([, v]) => ArrayBuffer.isView(v) && types.isSharedArrayBuffer((v as Typed).buffer),
  ) as [string, Typed][];
  if (new Set(shared.map(([, v]) => v.buffer)).size < 2) {
    OPS[op](d);
    return;
  }
  const copies = shared.map(([k, v]) => [k, v, v.slice()] as const);
  OPS[op]({ ...d, ...Object.fromEntries(copies.map(([k, , c]) => [k, c])) });
  for (const [, v, c] of copies) {
    if (c.some((e, i) => !Object.is(e, v[i]))) v.set(c as never);
  }
}

export const jsOps: OpRunner = {
  run,
  runAsync<K extends OpName>(op: K, d: Descriptors[K]): Promise<void> {
    try {
      run(op, d);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  },
};
