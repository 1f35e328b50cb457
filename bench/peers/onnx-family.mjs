// onnxruntime-node peers for the family benchmark (bench/bench.mjs): one-node
// models for LayerNormalization (opset 17), BatchNormalization in inference
// mode (opset 15), GroupNormalization (opset 21: per-channel scale and
// bias, as instnorm's) and RMSNormalization (opset 23). CPU execution
// provider, 1 thread, no spinning, as in onnxruntime.mjs. ORT has no
// training API here, so no backward rows.
import { createRequire } from 'node:module';
import { nodeModel } from './onnx-model.mjs';

const require = createRequire(import.meta.url);

function loadOrt() {
  try {
    return { ort: require('onnxruntime-node') };
  } catch (e) {
    return { skipped: `onnxruntime-node unavailable: ${e.message.split('\n')[0]}` };
  }
}

const sessionOptions = (threads) => ({
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

/**
 * A row running `op` on `feeds` ({ name: [Float32Array, dims] }, in the
 * operator's input order). Returns { rows } or { skipped } (ORT without the
 * operator, or one that fails on this shape).
 */
async function oneNodeRows({ op, opset, feeds, shape, attrs, ints, label, layout = 'NCHW', variant = null }) {
  const { ort, skipped } = loadOrt();
  if (!ort) return { skipped };
  const inputs = Object.entries(feeds).map(([n, [, d]]) => [n, d]);
  const model = nodeModel({ op, opset, inputs, outputs: [['Y', shape]], attrs, ints });
  let session;
  try {
    session = await ort.InferenceSession.create(model, sessionOptions(1));
    const tensors = Object.fromEntries(Object.entries(feeds).map(([n, [data, d]]) => [n, new ort.Tensor('float32', data, d)]));
    await session.run(tensors);
    const forward = async () => (await session.run(tensors)).Y.data;
    return {
      rows: [{
        name: `${variant ? `${variant} ` : ''}${layout ? `${layout} ` : ''}onnxruntime-node ${label} 1t`, group: 'peer', threads: 1,
        layout, variant, forward, backward: null, dispose: () => session.release(),
      }],
    };
  } catch (e) {
    session?.release();
    return { skipped: `onnxruntime-node ${op} (opset ${opset}) unavailable: ${e.message.split('\n')[0]}` };
  }
}

/** LayerNormalization over the last `rank` dims (axis = -rank). */
export function ortLayerNormRows(x, shape, rank, gamma, beta, eps) {
  const norm = shape.slice(shape.length - rank);
  return oneNodeRows({
    op: 'LayerNormalization', opset: 17, shape, label: 'LayerNormalization', layout: null,
    feeds: { X: [x, shape], Scale: [gamma, norm], B: [beta, norm] },
    attrs: { axis: shape.length - rank, epsilon: eps }, ints: ['axis'],
  });
}

/** RMSNormalization over the last `rank` dims (axis = -rank), elementwise scale. */
export function ortRmsNormRows(x, shape, rank, gamma, eps) {
  const norm = shape.slice(shape.length - rank);
  return oneNodeRows({
    op: 'RMSNormalization', opset: 23, shape, label: 'RMSNormalization', layout: null,
    feeds: { X: [x, shape], scale: [gamma, norm] },
    attrs: { axis: shape.length - rank, epsilon: eps }, ints: ['axis'],
  });
}

/** BatchNormalization, inference (running statistics), NCHW. */
export function ortBatchNormRows(x, shape, gamma, beta, runningMean, runningVar, eps) {
  const C = [shape[1]];
  return oneNodeRows({
    op: 'BatchNormalization', opset: 15, shape, label: 'BatchNormalization', variant: 'infer',
    feeds: { X: [x, shape], scale: [gamma, C], B: [beta, C], input_mean: [runningMean, C], input_var: [runningVar, C] },
    attrs: { epsilon: eps },
  });
}

/** GroupNormalization (opset 21, per-channel scale/bias), NCHW. */
export function ortGroupNormRows(x, shape, groups, gamma, beta, eps) {
  const C = [shape[1]];
  return oneNodeRows({
    op: 'GroupNormalization', opset: 21, shape, label: 'GroupNormalization', feeds: { X: [x, shape], scale: [gamma, C], bias: [beta, C] },
    attrs: { epsilon: eps, num_groups: groups }, ints: ['num_groups'],
  });
}
