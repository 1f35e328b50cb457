// ONNX MeanVarianceNormalization (opset 13) expressed with instnorm's ops,
// on the backend of this project, sync and Async (moments has no affine
// and no epsilon; the others are run without gamma/beta).
//
// Epsilon: ONNX's function body adds a constant 1e-9 to the standard
// deviation, Y = (X - EX) / (sqrt(Var) + 1e-9), where instnorm adds eps to
// the variance inside the root, (X - EX) / sqrt(Var + eps). No constant eps
// makes the two equal for every Var (sqrt(Var) + 1e-9 = sqrt(Var + eps)
// needs eps = 2e-9 * sqrt(Var) + 1e-18, which depends on Var), so instnorm
// runs with eps = 0 and its output is rescaled by
// sqrt(Var) / (sqrt(Var) + 1e-9) = 1 / (1 + 1e-9 * rstd), with instnorm's own
// rstd output. For unit-scale data that factor is 1 - 1e-9, far below
// float32 resolution; it matters for channels whose standard deviation is
// near 1e-9 (one case below has std 1e-8: 10%). A constant channel gives 0
// in both: ONNX 0 / (0 + 1e-9), instnorm (eps = 0) beta = 0 with
// rstd = Infinity, and the factor 1 / (1 + Infinity) = 0 keeps it 0.
//
// axes -> op: [0, 2, 3] (the default: per channel over batch and space) ->
// batchNorm in training mode without running statistics, and moments
// over: 'batch' plus arithmetic; [0, 2] on (N x C x D) -> the same in 1D;
// [2, 3] -> instanceNorm; [1, 2, 3] -> layerNorm with normalizedRank 3;
// [0, 1, 2, 3] -> layerNorm with normalizedRank 4 (one row).
// Expected values: ./onnx-reference.ts.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { dims } from '../helpers/reference.mjs';
import { expectAgree, syncAndAsync, tensor } from './conformance';
import { meanVarianceNormalization, MVN_EPSILON, numelOf, reduceMeanVar } from './onnx-reference';

const OP = 'MeanVarianceNormalization';

/** instnorm's eps = 0 output y, normalized with rstd[stat(i)], rescaled to ONNX's epsilon convention (see above). */
function toOnnxEpsilon(y: Float32Array, rstd: Float32Array, stat: (i: number) => number): Float32Array {
  return Float32Array.from(y, (v, i) => v / (1 + MVN_EPSILON * rstd[stat(i)]));
}

type Mvn = (x: Float32Array, shape: number[], isAsync: boolean) => Promise<{ y: Float32Array }>;

const byBatchNorm: Mvn = async (x, shape, isAsync) => {
  const { C, M } = dims(shape);
  const rstd = new Float32Array(C);
  const o = { training: true, eps: 0, rstd };
  const y: Float32Array = isAsync ? await F.batchNormAsync(x, shape, o) : F.batchNorm(x, shape, o);
  return { y: toOnnxEpsilon(y, rstd, (i) => Math.floor(i / M) % C) };
};

const byMoments: Mvn = async (x, shape, isAsync) => {
  const { C, M } = dims(shape);
  const m = isAsync ? await F.momentsAsync(x, shape, { over: 'batch' }) : F.moments(x, shape, { over: 'batch' });
  return {
    y: Float32Array.from(x, (v, i) => {
      const c = Math.floor(i / M) % C;
      return (v - m.mean[c]) / (Math.sqrt(m.m2[c] / m.count[c]) + MVN_EPSILON);
    }),
  };
};

const byInstanceNorm: Mvn = async (x, shape, isAsync) => {
  const { N, C, M } = dims(shape);
  const rstd = new Float32Array(N * C);
  const y: Float32Array = isAsync ? await F.instanceNormAsync(x, shape, { eps: 0, rstd }) : F.instanceNorm(x, shape, { eps: 0, rstd });
  return { y: toOnnxEpsilon(y, rstd, (i) => Math.floor(i / M)) };
};

const byLayerNorm = (k: number): Mvn => async (x, shape, isAsync) => {
  const L = numelOf(shape.slice(shape.length - k));
  const rstd = new Float32Array(x.length / L);
  const y: Float32Array = isAsync ? await F.layerNormAsync(x, shape, k, { eps: 0, rstd }) : F.layerNorm(x, shape, k, { eps: 0, rstd });
  return { y: toOnnxEpsilon(y, rstd, (i) => Math.floor(i / L)) };
};

// [axes, what expresses it, X's shape, the expression]
const CASES: [number[], string, number[], Mvn][] = [
  [[0, 2, 3], 'batchNorm (training, no running statistics)', [3, 3, 3, 1], byBatchNorm],
  [[0, 2, 3], 'batchNorm (training, no running statistics)', [2, 4, 5, 6], byBatchNorm],
  [[0, 2, 3], 'moments over batch', [2, 4, 5, 6], byMoments],
  [[0, 2], 'batchNorm (training, no running statistics)', [3, 5, 7], byBatchNorm],
  [[2, 3], 'instanceNorm', [2, 4, 5, 6], byInstanceNorm],
  [[1, 2, 3], 'layerNorm, normalizedRank 3', [2, 4, 5, 6], byLayerNorm(3)],
  [[0, 1, 2, 3], 'layerNorm, normalizedRank 4', [2, 4, 5, 6], byLayerNorm(4)],
];

async function check(axes: number[], how: string, mvn: Mvn, shape: number[], x: Float32Array, what: string) {
  const ctx = `${OP} axes ${JSON.stringify(axes)} by ${how}, X ${JSON.stringify(shape)}${what}`;
  const got = await syncAndAsync(ctx, (isAsync) => mvn(Float32Array.from(x), shape, isAsync));
  expectAgree(OP, got.y, meanVarianceNormalization(x, shape, axes), ctx);
}

describe.skipIf(unavailable !== null)(`ONNX ${OP} on ${label}`, () => {
  it.each(CASES)('axes %j as %s, X %j', async (axes, how, shape, mvn) => {
    await check(axes, how, mvn, shape, tensor(numelOf(shape), numelOf(shape) + axes.length, 0.5, 0.3), '');
  });

  // Channel 1 of every sample: 1e-8 * N(0, 1), where ONNX's + 1e-9 on the
  // standard deviation changes Y by ~10%; channel 2 constant (Y = 0).
  it.each(CASES.filter(([axes]) => axes.includes(0) && !axes.includes(1)))(
    'axes %j as %s, X %j: a channel of standard deviation 1e-8 and a constant channel',
    async (axes, how, shape, mvn) => {
      const { N, C, M } = dims(shape);
      const x = tensor(numelOf(shape), 3, 0.5, 0.3);
      const small = tensor(numelOf(shape), 4, 0, 1e-8);
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < M; i++) x[(n * C + 1) * M + i] = small[(n * C + 1) * M + i];
        if (C > 2) x.fill(-4.5, (n * C + 2) * M, (n * C + 3) * M);
      }
      // The case means something: ONNX's epsilon changes channel 1's Y by far more than the bar.
      const st = reduceMeanVar(x, shape, axes);
      expect(MVN_EPSILON / Math.sqrt(st.variance[1])).toBeGreaterThan(0.05);
      await check(axes, how, mvn, shape, x, ' with a std-1e-8 and a constant channel');
    },
  );
});
