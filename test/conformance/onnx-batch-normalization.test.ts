// ONNX BatchNormalization (opset 15) on instnorm's batchNorm, on the
// backend of this project, both layouts, sync and Async: inference
// (training_mode = 0) and training (training_mode = 1, outputs Y,
// running_mean, running_var), for X of shape (N x C), (N) with C = 1, and
// 1D, 2D and 3D spatial dims. Expected values: ./onnx-reference.ts.
//
// The mapping (written down once here, used by every case):
// - scale -> gamma, B -> beta, input_mean/input_var -> runningMean/runningVar,
//   epsilon -> eps;
// - training_mode = 1 -> training: true with unbiasedRunningVar: false
//   (ONNX updates running_var with the population variance) and
//   momentum: 1 - momentum (ONNX's momentum weighs the old value,
//   instnorm's the new one); running_mean/running_var are the updated
//   runningMean/runningVar;
// - X of shape (N) -> shape [N, 1] (the spec: "C is assumed to be 1").
import { describe, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, toLayout } from '../helpers/data.mjs';
import { type Layout, LAYOUTS, lo } from '../helpers/op-checks';
import { expectAgree, syncAndAsync, tensor, uniform } from './conformance';
import {
  batchNormalizationInference, batchNormalizationTraining, type BatchNormInputs, numelOf,
} from './onnx-reference';

const OP = 'BatchNormalization';

/** ONNX inputs for X of `shape` with C channels (C = 1 for rank 1). */
function inputs(shape: number[], epsilon: number, seed: number): BatchNormInputs {
  const C = shape.length === 1 ? 1 : shape[1];
  return {
    x: tensor(numelOf(shape), seed, 0.5, 2),
    shape: shape.length === 1 ? [shape[0], 1] : shape,
    scale: tensor(C, seed + 1),
    B: tensor(C, seed + 2),
    inputMean: tensor(C, seed + 3),
    inputVar: uniform(C, seed + 4, 0.1, 2),
    epsilon,
  };
}

/** instnorm's batchNorm on ONNX's inputs; returns Y (channels-first) and the updated running statistics. */
async function run(a: BatchNormInputs, layout: Layout, training: { momentum: number } | null, isAsync: boolean) {
  const C = a.shape[1];
  const runningMean = Float32Array.from(a.inputMean);
  const runningVar = Float32Array.from(a.inputVar);
  const mean = new Float32Array(C);
  const rstd = new Float32Array(C);
  const t = toLayout(Float32Array.from(a.x), a.shape, layout);
  const options = {
    gamma: Float32Array.from(a.scale), beta: Float32Array.from(a.B), eps: a.epsilon, runningMean, runningVar, ...lo(layout),
    ...(training ? { training: true, momentum: 1 - training.momentum, unbiasedRunningVar: false, mean, rstd } : {}),
  };
  const y: Float32Array = isAsync ? await F.batchNormAsync(t.x, t.shape, options) : F.batchNorm(t.x, t.shape, options);
  return { y: fromLayout(y, a.shape, layout) as Float32Array, runningMean, runningVar, mean, rstd };
}

// (N x C), (N), then 1D, 2D and 3D spatial.
const SHAPES = [[4, 3], [6], [2, 3, 5], [2, 3, 4, 5], [2, 3, 2, 3, 4], [1, 5, 7]];
const CASES = SHAPES.flatMap((shape) => [1e-5, 1e-2].flatMap((eps) => LAYOUTS.map((layout) => [shape, eps, layout] as const)));

describe.skipIf(unavailable !== null)(`ONNX ${OP} on ${label}`, () => {
  it.each(CASES)('inference, X %j, epsilon %f, %s', async (shape, eps, layout) => {
    const a = inputs([...shape], eps, shape.length * 10 + shape[0]);
    const ctx = `${OP} inference ${JSON.stringify(shape)} eps=${eps} ${layout}`;
    const got = await syncAndAsync(ctx, (isAsync) => run(a, layout, null, isAsync));
    expectAgree(OP, got.y, batchNormalizationInference(a), `${ctx}: Y`);
    // Inference leaves the running statistics as they were.
    expectAgree(OP, got.runningMean, a.inputMean, `${ctx}: input_mean unchanged`);
    expectAgree(OP, got.runningVar, a.inputVar, `${ctx}: input_var unchanged`);
  });

  it.each(CASES.flatMap(([s, e, l]) => [0.9, 0.3].map((m) => [s, e, l, m] as const)))(
    'training, X %j, epsilon %f, %s, momentum %f: Y, running_mean, running_var',
    async (shape, eps, layout, momentum) => {
      const a = inputs([...shape], eps, shape.length * 10 + shape[0] + 1);
      const ctx = `${OP} training ${JSON.stringify(shape)} eps=${eps} ${layout} momentum=${momentum}`;
      const got = await syncAndAsync(ctx, (isAsync) => run(a, layout, { momentum }, isAsync));
      const ref = batchNormalizationTraining({ ...a, momentum });
      expectAgree(OP, got.y, ref.y, `${ctx}: Y`);
      expectAgree(OP, got.runningMean, ref.runningMean, `${ctx}: running_mean`);
      expectAgree(OP, got.runningVar, ref.runningVar, `${ctx}: running_var`);
      // The batch statistics behind Y (ONNX's current_mean, and current_var as instnorm's rstd).
      expectAgree(OP, got.mean, ref.currentMean, `${ctx}: current_mean`);
      expectAgree(OP, got.rstd, ref.currentVar.map((v) => 1 / Math.sqrt(v + eps)), `${ctx}: 1 / sqrt(current_var + epsilon)`);
    },
  );

  it('training on a batch of one sample (N = 1, X (1 x C)): Y = B, running_var decays toward the population variance 0', async () => {
    const a = inputs([1, 4], 1e-5, 99);
    const ref = batchNormalizationTraining({ ...a, momentum: 0.9 });
    for (const layout of LAYOUTS) {
      const got = await syncAndAsync(`${OP} N = 1 ${layout}`, (isAsync) => run(a, layout, { momentum: 0.9 }, isAsync));
      expectAgree(OP, got.y, ref.y, `N = 1 ${layout}: Y`);
      expectAgree(OP, got.runningVar, ref.runningVar, `N = 1 ${layout}: running_var`);
    }
  });
});
