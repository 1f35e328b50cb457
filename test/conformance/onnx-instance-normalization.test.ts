// ONNX InstanceNormalization (opset 22; the formula is unchanged since
// opset 6) on instnorm's instanceNorm, on the backend of this project, both
// layouts, sync and Async. Mapping: input -> x, scale -> gamma, B -> beta,
// epsilon -> eps. Cases: 1D, 2D and 3D spatial dims, the default epsilon
// and a larger one, planes of one element and constant planes (variance 0:
// the formula gives B). Expected values: ./onnx-reference.ts.
import { describe, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, toLayout } from '../helpers/data.mjs';
import { type Layout, LAYOUTS, lo } from '../helpers/op-checks';
import { expectAgree, syncAndAsync, tensor } from './conformance';
import { instanceNormalization, numelOf } from './onnx-reference';

const OP = 'InstanceNormalization';

async function run(x: Float32Array, shape: number[], scale: Float32Array, B: Float32Array, eps: number, layout: Layout, isAsync: boolean) {
  const t = toLayout(Float32Array.from(x), shape, layout);
  const options = { gamma: Float32Array.from(scale), beta: Float32Array.from(B), eps, ...lo(layout) };
  const y: Float32Array = isAsync ? await F.instanceNormAsync(t.x, t.shape, options) : F.instanceNorm(t.x, t.shape, options);
  return { y: fromLayout(y, shape, layout) as Float32Array };
}

async function check(x: Float32Array, shape: number[], eps: number, layout: Layout, seed: number, ctx: string) {
  const C = shape[1];
  const scale = tensor(C, seed + 1);
  const B = tensor(C, seed + 2);
  const got = await syncAndAsync(ctx, (isAsync) => run(x, shape, scale, B, eps, layout, isAsync));
  expectAgree(OP, got.y, instanceNormalization(x, shape, scale, B, eps), ctx);
}

const SHAPES = [[1, 2, 3], [2, 3, 7], [2, 3, 4, 5], [1, 2, 3, 4, 5], [3, 1, 9, 2], [2, 5, 1], [2, 4, 1, 1, 1]];

describe.skipIf(unavailable !== null)(`ONNX ${OP} on ${label}`, () => {
  it.each(SHAPES.flatMap((s) => [1e-5, 1e-2].flatMap((e) => LAYOUTS.map((l) => [s, e, l] as const))))(
    'input %j, epsilon %f, %s',
    async (shape, eps, layout) => {
      const seed = numelOf(shape) + shape.length;
      const x = tensor(numelOf(shape), seed, -1.5, 3);
      await check(x, [...shape], eps, layout, seed, `${OP} ${JSON.stringify(shape)} eps=${eps} ${layout}`);
    },
  );

  it.each(LAYOUTS)('constant planes (variance 0) give B, %s', async (layout) => {
    const shape = [2, 3, 4, 4];
    const x = tensor(numelOf(shape), 5);
    x.fill(2.25, 0, 16); // plane (0, 0)
    x.fill(-3, 16 * 4, 16 * 5); // plane (1, 1)
    await check(x, shape, 1e-5, layout, 5, `${OP} constant planes ${layout}`);
  });
});
