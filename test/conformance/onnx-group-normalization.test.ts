// ONNX GroupNormalization on instnorm's groupNorm, on the backend of this
// project, both layouts, sync and Async. Mapping: X -> x, num_groups ->
// groups, epsilon -> eps, bias -> beta, and scale -> gamma:
// - opset 21: scale and bias have shape (C), one per channel: passed as is;
// - opset 18 (deprecated): scale and bias are "specified for each group of
//   channels", shape (num_groups): expanded to per channel (channel c takes
//   entry floor(c / (C / num_groups))), which is the same formula.
// Cases cover 1D-3D spatial dims, num_groups = 1 (the spec: equivalent to
// LayerNormalization over (C, D1..Dn)) and num_groups = C (equivalent to
// InstanceNormalization). stash_type 1 (float32 stage one) is what
// instnorm computes. Expected values: ./onnx-reference.ts.
import { describe, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, toLayout } from '../helpers/data.mjs';
import { type Layout, LAYOUTS, lo } from '../helpers/op-checks';
import { expectAgree, syncAndAsync, tensor } from './conformance';
import { groupNormalization, instanceNormalization, numelOf } from './onnx-reference';

const OP = 'GroupNormalization';

async function run(x: Float32Array, shape: number[], groups: number, gamma: Float32Array, beta: Float32Array, eps: number, layout: Layout, isAsync: boolean) {
  const t = toLayout(Float32Array.from(x), shape, layout);
  const options = { gamma: Float32Array.from(gamma), beta: Float32Array.from(beta), eps, ...lo(layout) };
  const y: Float32Array = isAsync ? await F.groupNormAsync(t.x, t.shape, groups, options) : F.groupNorm(t.x, t.shape, groups, options);
  return { y: fromLayout(y, shape, layout) as Float32Array };
}

/** Opset 18's per-group scale or bias as the per-channel vector instnorm takes. */
const perChannel = (perGroup: Float32Array, C: number) => Float32Array.from({ length: C }, (_, c) => perGroup[Math.floor(c / (C / perGroup.length))]);

// [shape, num_groups]
const CASES: [number[], number][] = [
  [[3, 4, 2, 2], 2], [[2, 6, 5], 3], [[2, 8, 2, 3, 2], 4], [[2, 6, 3, 3], 1], [[2, 6, 3, 3], 6], [[1, 9, 7], 3], [[2, 4, 1], 2],
];
const ALL = CASES.flatMap(([s, g]) => [1e-5, 1e-2].flatMap((e) => LAYOUTS.map((l) => [s, g, e, l] as const)));

describe.skipIf(unavailable !== null)(`ONNX ${OP} on ${label}`, () => {
  it.each(ALL)('opset 21 (per-channel scale, bias): X %j, num_groups %i, epsilon %f, %s', async (shape, groups, eps, layout) => {
    const seed = numelOf(shape) + groups;
    const x = tensor(numelOf(shape), seed, 1, 2);
    const scale = tensor(shape[1], seed + 1);
    const bias = tensor(shape[1], seed + 2);
    const ctx = `${OP}-21 ${JSON.stringify(shape)} groups=${groups} eps=${eps} ${layout}`;
    const got = await syncAndAsync(ctx, (isAsync) => run(x, shape, groups, scale, bias, eps, layout, isAsync));
    expectAgree(OP, got.y, groupNormalization(x, shape, groups, scale, bias, eps), ctx);
    // num_groups = C is InstanceNormalization, as the spec says.
    if (groups === shape[1]) expectAgree(OP, got.y, instanceNormalization(x, shape, scale, bias, eps), `${ctx} (as InstanceNormalization)`);
  });

  it.each(ALL)('opset 18 (per-group scale, bias, expanded per channel): X %j, num_groups %i, epsilon %f, %s', async (shape, groups, eps, layout) => {
    const seed = numelOf(shape) + groups + 100;
    const x = tensor(numelOf(shape), seed, -2, 0.5);
    const scale = tensor(groups, seed + 1);
    const bias = tensor(groups, seed + 2);
    const ctx = `${OP}-18 ${JSON.stringify(shape)} groups=${groups} eps=${eps} ${layout}`;
    const got = await syncAndAsync(ctx, (isAsync) =>
      run(x, shape, groups, perChannel(scale, shape[1]), perChannel(bias, shape[1]), eps, layout, isAsync));
    expectAgree(OP, got.y, groupNormalization(x, shape, groups, scale, bias, eps, true), ctx);
  });
});
