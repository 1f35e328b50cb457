// ONNX LayerNormalization (opset 17) on instnorm's layerNorm, on the backend
// of this project, sync and Async: outputs Y, Mean and InvStdDev.
// Mapping: normalized_axes = [axis, ..., rank - 1] are instnorm's last
// normalizedRank dims, so normalizedRank = rank - axis for axis >= 0 and
// -axis for axis < 0; Scale -> gamma, B -> beta (absent: none), epsilon ->
// eps; Mean and InvStdDev are instnorm's mean and rstd. Scale and B of the
// normalized shape pass as is; the spec also lets them be unidirectionally
// broadcast to X (e.g. shape (d[rank-1]) with axis < rank - 1): instnorm
// takes the full normalized size, so such a Scale is tiled first.
//
// Cases: every axis from -rank to rank - 1 for ranks 2, 3 and 4, with the
// default epsilon and 0.1, and the attribute left out (default axis -1):
// the 19 axis variants of ONNX's node tests are among them (2D: 4, 3D: 6,
// 4D: 8, default: 1). Expected values: ./onnx-reference.ts.
import { describe, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { expectAgree, syncAndAsync, tensor } from './conformance';
import { layerNormalization, normalizeAxis, numelOf } from './onnx-reference';

const OP = 'LayerNormalization';

/** instnorm's normalizedRank for ONNX's axis attribute (default -1). */
const normalizedRank = (rank: number, axis = -1) => rank - normalizeAxis(axis, rank);

interface Case { x: Float32Array; shape: number[]; axis?: number; scale: Float32Array; B: Float32Array | null; eps: number }

async function run(c: Case, scale: Float32Array, isAsync: boolean) {
  const rank = c.shape.length;
  const k = normalizedRank(rank, c.axis);
  const rows = numelOf(c.shape.slice(0, rank - k));
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  const options = { gamma: Float32Array.from(scale), beta: c.B ? Float32Array.from(c.B) : undefined, eps: c.eps, mean, rstd };
  const x = Float32Array.from(c.x);
  const y: Float32Array = isAsync ? await F.layerNormAsync(x, c.shape, k, options) : F.layerNorm(x, c.shape, k, options);
  return { y, mean, rstd };
}

async function check(c: Case, ctx: string, scaleShape?: number[]) {
  const rank = c.shape.length;
  const normShape = c.shape.slice(normalizeAxis(c.axis ?? -1, rank));
  const sShape = scaleShape ?? normShape;
  // A Scale of the last dim's size, broadcast over the other normalized dims, tiled to the normalized size.
  const full = scaleShape ? Float32Array.from({ length: numelOf(normShape) }, (_, i) => c.scale[i % c.scale.length]) : c.scale;
  const got = await syncAndAsync(ctx, (isAsync) => run(c, full, isAsync));
  const ref = layerNormalization(c.x, c.shape, { data: c.scale, shape: sShape }, c.B ? { data: c.B, shape: normShape } : null, c.axis ?? -1, c.eps);
  expectAgree(OP, got.y, ref.y, `${ctx}: Y`);
  expectAgree(OP, got.mean, ref.mean, `${ctx}: Mean`);
  expectAgree(OP, got.rstd, ref.invStdDev, `${ctx}: InvStdDev`);
}

function makeCase(shape: number[], axis: number | undefined, eps: number, seed: number, withB = true): Case {
  const L = numelOf(shape.slice(normalizeAxis(axis ?? -1, shape.length)));
  return { x: tensor(numelOf(shape), seed, 0.25, 1.5), shape, axis, scale: tensor(L, seed + 1), B: withB ? tensor(L, seed + 2) : null, eps };
}

const SHAPES = [[3, 4], [2, 3, 5], [2, 3, 4, 5]];
const AXES = SHAPES.flatMap((s) => Array.from({ length: 2 * s.length }, (_, i) => [s, i - s.length] as const));

describe.skipIf(unavailable !== null)(`ONNX ${OP} on ${label}`, () => {
  it.each(AXES.flatMap(([s, a]) => [1e-5, 0.1].map((e) => [s, a, e] as const)))('X %j, axis %i, epsilon %f', async (shape, axis, eps) => {
    await check(makeCase([...shape], axis, eps, shape.length * 10 + axis), `${OP} ${JSON.stringify(shape)} axis=${axis} eps=${eps}`);
  });

  it('default axis (attribute absent: -1), X (2 x 3 x 4 x 5)', async () => {
    await check(makeCase([2, 3, 4, 5], undefined, 1e-5, 77), `${OP} default axis`);
  });

  it.each([[[3, 1, 7, 2], 1], [[1, 6], 0], [[5, 1], -1], [[2, 2, 2, 33], -1]] as const)('odd sizes: X %j, axis %i', async (shape, axis) => {
    await check(makeCase([...shape], axis, 1e-5, 31 + axis), `${OP} ${JSON.stringify(shape)} axis=${axis}`);
  });

  it.each([-1, -2, -3, 1])('optional input B absent, X (2 x 3 x 4 x 5), axis %i', async (axis) => {
    await check(makeCase([2, 3, 4, 5], axis, 1e-5, 50 + axis, false), `${OP} no B axis=${axis}`);
  });

  it.each([-2, -3, 0])('Scale of shape (d[rank-1]) broadcast over the normalized dims, X (2 x 3 x 4 x 5), axis %i', async (axis) => {
    const c = makeCase([2, 3, 4, 5], axis, 1e-5, 60 + axis);
    c.scale = tensor(5, 61 + axis);
    await check(c, `${OP} broadcast Scale axis=${axis}`, [5]);
  });
});
