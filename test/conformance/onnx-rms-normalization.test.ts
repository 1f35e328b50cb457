// ONNX RMSNormalization (opset 23) on instnorm's rmsNorm, on the backend of
// this project, sync and Async. Mapping as for LayerNormalization:
// normalizedRank = rank - axis (axis >= 0) or -axis (axis < 0), scale ->
// gamma (tiled to the normalized size when it is broadcast), epsilon -> eps.
// Cases: every axis from -rank to rank - 1 for ranks 2, 3 and 4 with the
// default epsilon and 0.1 (ONNX's node tests cover the same 19 axis
// variants as LayerNormalization's), the default axis, and a broadcast
// scale. Expected values: ./onnx-reference.ts.
import { describe, it } from 'vitest';
import { F, label, missing, unavailable } from '../helpers/backend-under-test';
import { expectAgree, syncAndAsync, tensor } from './conformance';
import { normalizeAxis, numelOf, rmsNormalization } from './onnx-reference';

const OP = 'RMSNormalization';
const skip = unavailable ?? missing('rmsNorm', 'rmsNormAsync');

async function check(shape: number[], axis: number | undefined, eps: number, seed: number, scaleShape?: number[]) {
  const rank = shape.length;
  const first = normalizeAxis(axis ?? -1, rank);
  const normShape = shape.slice(first);
  const L = numelOf(normShape);
  const x = tensor(numelOf(shape), seed, 0.5, 2);
  const scale = tensor(scaleShape ? numelOf(scaleShape) : L, seed + 1);
  const gamma = scaleShape ? Float32Array.from({ length: L }, (_, i) => scale[i % scale.length]) : scale;
  const k = rank - first;
  const ctx = `${OP} ${JSON.stringify(shape)} axis=${axis} eps=${eps}${scaleShape ? ` scale ${JSON.stringify(scaleShape)}` : ''}`;
  const got = await syncAndAsync(ctx, async (isAsync) => {
    const options = { gamma: Float32Array.from(gamma), eps };
    const xs = Float32Array.from(x);
    return { y: (isAsync ? await F.rmsNormAsync(xs, shape, k, options) : F.rmsNorm(xs, shape, k, options)) as Float32Array };
  });
  expectAgree(OP, got.y, rmsNormalization(x, shape, { data: scale, shape: scaleShape ?? normShape }, axis ?? -1, eps), ctx);
}

const SHAPES = [[3, 4], [2, 3, 5], [2, 3, 4, 5]];
const AXES = SHAPES.flatMap((s) => Array.from({ length: 2 * s.length }, (_, i) => [s, i - s.length] as const));

describe.skipIf(skip !== null)(`ONNX ${OP} on ${label}`, () => {
  it.each(AXES.flatMap(([s, a]) => [1e-5, 0.1].map((e) => [s, a, e] as const)))('X %j, axis %i, epsilon %f', async (shape, axis, eps) => {
    await check([...shape], axis, eps, shape.length * 10 + axis + 7);
  });

  it('default axis (attribute absent: -1), X (2 x 3 x 4 x 5)', async () => {
    await check([2, 3, 4, 5], undefined, 1e-5, 88);
  });

  it.each([-2, -3, 0])('scale of shape (d[rank-1]) broadcast over the normalized dims, X (2 x 3 x 4 x 5), axis %i', async (axis) => {
    await check([2, 3, 4, 5], axis, 1e-5, 90 + axis, [5]);
  });
});
