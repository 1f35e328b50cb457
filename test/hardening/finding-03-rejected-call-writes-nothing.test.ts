// Finding 3 of the hardening issue: some refused calls had already written
// (channels-last groupNorm with out over x: mean/rstd; batchNorm training:
// mean/rstd; batchNormBackward: dgamma/dbeta; adaINBackward: dcontent, with
// a message naming out/x instead of dstyle/style). What must hold: every
// check before the first write, so the refused call (sync, and its Async
// variant as a rejected promise) leaves every array as it was. The overlaps
// here are within one ArrayBuffer, visible to both backends.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { expectRefused } from './rejection';

const N = 2, C = 4, S = 6, NUMEL = N * C * S, K = 3;
const NHWC = [N, S, C];
const SHAPE = [N, C, S];

/** x and a second tensor in one buffer (floats 0..48 and 48..96), with room after them. */
function memory() {
  const buf = new ArrayBuffer(200 * 4);
  const at = (offset: number, length: number) => new Float32Array(buf, offset * 4, length);
  const x = at(0, NUMEL);
  const second = at(NUMEL, NUMEL);
  for (let i = 0; i < NUMEL; i++) {
    x[i] = Math.sin(i) * (1 + (i % 5));
    second[i] = Math.cos(0.7 * i) * 2 + (i % 3);
  }
  return { at, x, second };
}

const filled = (n: number, v = 42.5) => new Float32Array(n).fill(v);

describe.skipIf(unavailable !== null)(`finding 3: a refused call writes nothing on ${label}`, () => {
  it('finding 3: channels-last groupNorm with out overlapping x leaves mean and rstd untouched', async () => {
    const m = memory();
    const out = m.at(2, NUMEL);
    const mean = filled(N * 2);
    const rstd = filled(N * 2);
    await expectRefused('finding 3 groupNorm NHWC', 'groupNorm', () => [m.x, NHWC, 2, { layout: 'NHWC', out, mean, rstd }],
      { x: m.x, out, mean, rstd }, RangeError, /out/);
  });

  it('finding 3: batchNorm training with out overlapping x leaves mean, rstd and the running statistics untouched', async () => {
    for (const layout of ['NCHW', 'NHWC']) {
      const m = memory();
      const out = m.at(NUMEL - 3, NUMEL);
      const mean = filled(C);
      const rstd = filled(C);
      const runningMean = filled(C, 0.5);
      const runningVar = filled(C, 2);
      await expectRefused(`finding 3 batchNorm training ${layout}`, 'batchNorm',
        () => [m.x, layout === 'NHWC' ? NHWC : SHAPE, { layout, training: true, out, mean, rstd, runningMean, runningVar }],
        { x: m.x, out, mean, rstd, runningMean, runningVar }, RangeError, /out/);
    }
  });

  it('finding 3: batchNormBackward with dx overlapping dy leaves dgamma and dbeta untouched (training and inference)', async () => {
    for (const training of [true, false]) {
      const m = memory();
      const dx = m.at(NUMEL + 5, NUMEL);
      const dgamma = filled(C);
      const dbeta = filled(C);
      const running = training ? {} : { runningMean: filled(C, 0), runningVar: filled(C, 1) };
      await expectRefused(`finding 3 batchNormBackward training=${training}`, 'batchNormBackward',
        () => [m.second, m.x, SHAPE, { training, gamma: filled(C, 1.5), dx, dgamma, dbeta, ...running }],
        { dy: m.second, x: m.x, dx, dgamma, dbeta }, RangeError, /dx/);
    }
  });

  it('finding 3: adaINBackward with dstyle overlapping style leaves dcontent untouched; the message names dstyle and style', async () => {
    const m = memory();
    const dy = Float32Array.from({ length: NUMEL }, (_, i) => Math.sin(2 * i));
    const dcontent = filled(NUMEL);
    const dstyle = m.at(NUMEL + 1, NUMEL);
    const args = () => [dy, m.x, SHAPE, m.second, SHAPE, { dcontent, dstyle }];
    const arrays = { dy, content: m.x, style: m.second, dcontent, dstyle };
    await expectRefused('finding 3 adaINBackward', 'adaINBackward', args, arrays, RangeError, /dstyle.*\bstyle\b/);
    let message = '';
    try {
      F.adaINBackward(...args());
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toMatch(/\bout\b|\bx\b/);
  });

  it('finding 3: conditionalInstanceNorm with a condition outside [0, K) leaves out, mean and rstd untouched', async () => {
    const m = memory();
    const out = filled(NUMEL);
    const mean = filled(N * C);
    const rstd = filled(N * C);
    const table = filled(K * C, 1);
    await expectRefused('finding 3 conditionalInstanceNorm', 'conditionalInstanceNorm',
      () => [m.x, SHAPE, new Int32Array([1, K]), table, table, { out, mean, rstd }],
      { x: m.x, out, mean, rstd, table }, RangeError, /condition/);
  });

  it('finding 3: layerNormBackward with dgamma overlapping dbeta leaves dx untouched', async () => {
    const m = memory();
    const dx = filled(NUMEL);
    const dgamma = m.at(150, S);
    const dbeta = m.at(152, S);
    await expectRefused('finding 3 layerNormBackward', 'layerNormBackward', () => [m.second, m.x, SHAPE, 1, { dx, dgamma, dbeta }],
      { dy: m.second, x: m.x, dx, dgamma, dbeta }, RangeError, /dgamma|dbeta/);
  });
});
