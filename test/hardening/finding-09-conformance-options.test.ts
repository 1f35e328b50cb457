// Finding 9 of the hardening issue (specification conformance):
// batchNorm rejected inputs without spatial dims ([N, C], the
// fully-connected case of PyTorch's BatchNorm1d and of ONNX), and ONNX's
// training mode updates the running variance with the biased batch
// variance where instnorm (like PyTorch) uses the unbiased one. What must
// hold: batchNorm and batchNormBackward accept [N, C], and the ONNX
// convention is an option (unbiasedRunningVar: false). The ONNX cases
// themselves are in test/conformance; this is the focused regression test.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { normals } from '../helpers/data.mjs';
import { maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import { refBatchNorm, refBatchNormBackward, refMoments } from '../helpers/reference.mjs';

const N = 5, C = 3;
const SHAPE = [N, C];
const x = normals(N * C, 90, 2, 3);
const dy = normals(N * C, 91);
const gamma = normals(C, 92, 1, 0.5);
const beta = normals(C, 93);
const rm0 = normals(C, 94);
const rv0 = normals(C, 95, 1, 0.2).map(Math.abs);

const close = (got: ArrayLike<number>, ref: ArrayLike<number>, ctx: string) =>
  expect(maxAbsDiff(got, ref) / (1 + maxAbs(ref)), ctx).toBeLessThanOrEqual(1e-6);

describe.skipIf(unavailable !== null)(`finding 9: batchNorm conformance options on ${label}`, () => {
  it.each(['NCHW', 'NHWC'])('finding 9: batchNorm and batchNormBackward accept [N, C] (layout %s), training and inference, sync and Async', async (layout) => {
    for (const training of [true, false]) {
      const ref = refBatchNorm(x, SHAPE, { gamma, beta, training, runningMean: rm0, runningVar: rv0, momentum: 0.2 });
      const refG = refBatchNormBackward(dy, x, SHAPE, { gamma, training, runningMean: rm0, runningVar: rv0 });
      for (const isAsync of [false, true]) {
        const runningMean = Float32Array.from(rm0);
        const runningVar = Float32Array.from(rv0);
        const o = { gamma, beta, training, runningMean, runningVar, momentum: 0.2, layout };
        const y = isAsync ? await F.batchNormAsync(x, SHAPE, o) : F.batchNorm(x, SHAPE, o);
        const ctx = `[N, C] ${layout} training=${training} async=${isAsync}`;
        close(y, ref.y, `${ctx}: y`);
        close(runningMean, ref.runningMean!, `${ctx}: runningMean`);
        close(runningVar, ref.runningVar!, `${ctx}: runningVar`);
        const bo = { gamma, training, runningMean: Float32Array.from(rm0), runningVar: Float32Array.from(rv0), layout };
        const g = isAsync ? await F.batchNormBackwardAsync(dy, x, SHAPE, bo) : F.batchNormBackward(dy, x, SHAPE, bo);
        for (const k of ['dx', 'dgamma', 'dbeta'] as const) close(g[k], refG[k], `${ctx}: ${k}`);
      }
    }
  });

  it('finding 9: unbiasedRunningVar: false updates runningVar with the biased batch variance (ONNX); the default with the unbiased one', () => {
    const shape = [4, C, 6];
    const xs = normals(4 * C * 6, 96, -1, 2);
    const count = 4 * 6;
    const momentum = 0.3; // ONNX momentum 0.7
    const st = refMoments(xs, shape, { over: 'batch' });
    for (const [option, factor] of [[false, 1], [true, count / (count - 1)], [undefined, count / (count - 1)]] as const) {
      const runningVar = Float32Array.from(rv0);
      const runningMean = Float32Array.from(rm0);
      F.batchNorm(xs, shape, { training: true, runningMean, runningVar, momentum, ...(option === undefined ? {} : { unbiasedRunningVar: option }) });
      const expected = Array.from(rv0, (r, c) => (1 - momentum) * r + momentum * (st.m2[c] / count) * factor);
      close(runningVar, expected, `unbiasedRunningVar ${option}`);
    }
  });

  it('finding 9: unbiasedRunningVar: false allows one value per channel ([1, C]); the default refuses it', () => {
    const x1 = normals(C, 97);
    const runningVar = Float32Array.from(rv0);
    const y = F.batchNorm(x1, [1, C], { training: true, beta, runningMean: Float32Array.from(rm0), runningVar, unbiasedRunningVar: false });
    expect(Array.from(y)).toEqual(Array.from(beta));
    close(runningVar, rv0.map((r) => 0.9 * r), 'runningVar decays toward the batch variance 0');
    expect(() => F.batchNorm(x1, [1, C], { training: true, runningMean: Float32Array.from(rm0), runningVar: Float32Array.from(rv0) }))
      .toThrow(RangeError);
  });
});
