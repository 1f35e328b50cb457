// moments and mergeMoments: float64 count/mean/m2 over instance, batch,
// layer and group in both layouts against the float64 reference, adversarial
// data, the threaded path, and Chan's merge of parts.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { makeData, normals, numel, toLayout } from '../helpers/data.mjs';
import { relErr } from '../helpers/metrics.mjs';
import { refMergeMoments, refMoments } from '../helpers/reference.mjs';
import { GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, NHWC_CHANNELS } from '../helpers/op-checks';

type Over = 'instance' | 'batch' | 'layer' | 'group';
type MomentsResult = { count: Float64Array; mean: Float64Array; m2: Float64Array };

function checkMoments(shape: number[], layout: Layout, over: Over, groups: number | undefined, x: Float32Array) {
  const a = toLayout(x, shape, layout);
  const got = F.moments(a.x, a.shape, { over, groups, ...lo(layout) });
  const ref = refMoments(x, shape, { over, groups });
  const ctx = `moments ${layout} ${JSON.stringify(shape)} over=${over} groups=${groups}`;
  expect(got.count, ctx).toBeInstanceOf(Float64Array);
  expect(got.mean, ctx).toBeInstanceOf(Float64Array);
  expect(got.m2, ctx).toBeInstanceOf(Float64Array);
  expect(Array.from(got.count), `${ctx}: count`).toEqual(Array.from(ref.count));
  for (let i = 0; i < ref.mean.length; i++) {
    const sd = Math.sqrt(ref.m2[i] / ref.count[i]);
    expect(Math.abs(got.mean[i] - ref.mean[i]), `${ctx}: mean[${i}] = ${got.mean[i]} vs ${ref.mean[i]}`)
      .toBeLessThanOrEqual(1e-6 * sd + 1e-9 * Math.abs(ref.mean[i]) + 1e-30);
    expect(Math.abs(got.m2[i] - ref.m2[i]), `${ctx}: m2[${i}] = ${got.m2[i]} vs ${ref.m2[i]}`)
      .toBeLessThanOrEqual(1e-5 * ref.m2[i] + 1e-14 * ref.count[i] * (1 + ref.mean[i] ** 2));
  }
}

describe.skipIf(unavailable !== null)(`moments on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS)('layout %s, over instance/batch/layer/group', (layout) => {
      const shape = [2, 6, ...spatial];
      const x = makeData('mixed', shape, m + spatial.length);
      checkMoments(shape, layout, 'instance', undefined, x);
      checkMoments(shape, layout, 'batch', undefined, x);
      checkMoments(shape, layout, 'layer', undefined, x);
      for (const g of [1, 3, 6]) checkMoments(shape, layout, 'group', g, x);
    });
  });

  it('over defaults to instance', () => {
    const shape = [2, 3, 17];
    const x = normals(numel(shape), 2);
    const got = F.moments(x, shape);
    expect(got.mean.length).toBe(6);
    expect(Array.from(got.mean)).toEqual(Array.from(F.moments(x, shape, { over: 'instance' }).mean));
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    const shape = [2, C, 7, 9];
    const x = makeData('mixed', shape, C);
    for (const over of ['instance', 'batch', 'layer'] as const) checkMoments(shape, 'NHWC', over, undefined, x);
  });

  it.each(KINDS)('adversarial %s data', (kind) => {
    const shape = [2, 4, 4099];
    const x = makeData(kind, shape, 3);
    for (const layout of LAYOUTS) for (const over of ['instance', 'batch', 'layer'] as const) checkMoments(shape, layout, over, undefined, x);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    const x = makeData('mixed', LARGE, 99);
    for (const over of ['instance', 'batch', 'layer'] as const) checkMoments(LARGE, layout, over, undefined, x);
    checkMoments(LARGE, layout, 'group', 16, x);
  });
});

// ---------------------------------------------------------------------------
// Merging.

function expectMomentsClose(got: MomentsResult, want: MomentsResult, ctx: string) {
  expect(Array.from(got.count), `${ctx}: count`).toEqual(Array.from(want.count));
  for (let i = 0; i < want.mean.length; i++) {
    const sd = Math.sqrt(want.m2[i] / want.count[i]);
    expect(Math.abs(got.mean[i] - want.mean[i]), `${ctx}: mean[${i}]`).toBeLessThanOrEqual(1e-6 * sd + 1e-9 * Math.abs(want.mean[i]));
    expect(Math.abs(got.m2[i] - want.m2[i]), `${ctx}: m2[${i}]`).toBeLessThanOrEqual(1e-5 * want.m2[i]);
  }
}

describe.skipIf(unavailable !== null)(`mergeMoments on ${label}`, () => {
  it.each(LAYOUTS)('(f) mergeMoments of two parts of a batch equals the moments of the whole (over batch; layout %s)', (layout) => {
    const shape = [5, 6, 9, 11];
    const x = makeData('mixed', shape, 21);
    const a = toLayout(x, shape, layout);
    const per = numel(shape) / 5;
    const whole = F.moments(a.x, a.shape, { over: 'batch', ...lo(layout) });
    for (const k of [1, 2, 4]) {
      const s1 = [k, ...a.shape.slice(1)];
      const s2 = [5 - k, ...a.shape.slice(1)];
      const m1 = F.moments(a.x.subarray(0, k * per), s1, { over: 'batch', ...lo(layout) });
      const m2 = F.moments(a.x.subarray(k * per), s2, { over: 'batch', ...lo(layout) });
      const merged = F.mergeMoments(m1, m2);
      expectMomentsClose(merged, whole, `split ${k}/${5 - k}`);
      // The merge itself is Chan's formula to float64 rounding.
      const ref = refMergeMoments(m1, m2);
      expect(relErr(merged.mean, ref.mean)).toBeLessThanOrEqual(1e-14);
      expect(relErr(merged.m2, ref.m2)).toBeLessThanOrEqual(1e-13);
      expect(Array.from(merged.count)).toEqual(Array.from(ref.count));
      // Merging is symmetric (to rounding).
      expectMomentsClose(F.mergeMoments(m2, m1), merged, 'b, a');
    }
  });

  it('(f) mergeMoments of two spatial halves equals the moments of the whole (over instance and batch)', () => {
    const N = 3;
    const C = 4;
    const H = 10;
    const W = 7;
    const shape = [N, C, H, W];
    const x = makeData('mixed', shape, 22);
    for (const h of [5, 3]) {
      const top = new Float32Array(N * C * h * W);
      const bottom = new Float32Array(N * C * (H - h) * W);
      for (let p = 0; p < N * C; p++) {
        top.set(x.subarray(p * H * W, p * H * W + h * W), p * h * W);
        bottom.set(x.subarray(p * H * W + h * W, (p + 1) * H * W), p * (H - h) * W);
      }
      for (const over of ['instance', 'batch'] as const) {
        const whole = F.moments(x, shape, { over });
        const merged = F.mergeMoments(F.moments(top, [N, C, h, W], { over }), F.moments(bottom, [N, C, H - h, W], { over }));
        expectMomentsClose(merged, whole, `over ${over}, rows ${h}/${H - h}`);
        expectMomentsClose(merged, refMoments(x, shape, { over }), `over ${over} vs float64`);
      }
    }
  });
});
