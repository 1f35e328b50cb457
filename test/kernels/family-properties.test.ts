// Properties from the design of the normalization family (issue 3 API),
// checked on the backend of this vitest project: invariances, which samples
// depend on which, style removal, and the identities between the ops.
import { describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { maxAbs, maxAbsDiff, normals, numel, rng } from '../helpers/reference.mjs';
import * as R from '../helpers/family-reference.mjs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const F: any = lib;

type Layout = 'NCHW' | 'NHWC';
const LAYOUTS: Layout[] = ['NCHW', 'NHWC'];
const lo = (layout: Layout) => (layout === 'NHWC' ? { layout } : {});

/** Sample n of a channels-first or channels-last tensor (both are contiguous per sample). */
const sample = (y: Float32Array, n: number, per: number) => y.subarray(n * per, (n + 1) * per);

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] / n; mb += b[i] / n; }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`normalization family properties on ${label}`, () => {
  // (a) -----------------------------------------------------------------------
  describe.each(LAYOUTS)('(a) scale invariance per image, layout %s', (layout) => {
    const shape = [3, 4, 9, 13];
    const per = numel(shape) / 3;
    // Moderate per-plane offsets and spreads: scaling float32 data by a non-power of two
    // rounds it, and on planes of offset/spread ~1e6 (the 'mixed' data) that rounding
    // alone changes the normalized output.
    const x = R.makeData('normal', shape, 1).map((v, e) => 2 + (Math.floor(e / 117) % 5) + v * (1 + (Math.floor(e / 117) % 3)));
    const a = R.toLayout(x, shape, layout);
    const gamma = normals(12, 2, 1, 0.5); // per-sample
    const beta = normals(12, 3);

    it.each([3.5, 1e-3, 1e3])('instance norm: image 1 scaled by %d > 0 gives the same output (eps = 0)', (s) => {
      const xs = a.x.slice();
      sample(xs, 1, per).forEach((e, i, arr) => { arr[i] = e * s; });
      const y1 = F.instanceNorm(a.x, a.shape, { eps: 0, gamma, beta, ...lo(layout) });
      const y2 = F.instanceNorm(xs, a.shape, { eps: 0, gamma, beta, ...lo(layout) });
      expect(maxAbsDiff(y1, y2) / (1 + maxAbs(y1))).toBeLessThanOrEqual(1e-5);
      // The other images are untouched, bit for bit.
      expect(sample(y2, 0, per)).toEqual(sample(y1, 0, per));
      expect(sample(y2, 2, per)).toEqual(sample(y1, 2, per));
    });

    it.each([-1, -2, -1e-2])('instance norm: scaling by %d < 0 flips the sign of the output (beta = 0)', (s) => {
      const y1 = F.instanceNorm(a.x, a.shape, { eps: 0, gamma, ...lo(layout) });
      const y2 = F.instanceNorm(a.x.map((v) => v * s), a.shape, { eps: 0, gamma, ...lo(layout) });
      expect(maxAbsDiff(y1, y2.map((v: number) => -v)) / (1 + maxAbs(y1))).toBeLessThanOrEqual(1e-5);
    });

    it('group norm and layer norm are scale invariant per image too', () => {
      const xs = a.x.slice();
      sample(xs, 2, per).forEach((e, i, arr) => { arr[i] = e * 7.25; });
      const g1 = F.groupNorm(a.x, a.shape, 2, { eps: 0, ...lo(layout) });
      const g2 = F.groupNorm(xs, a.shape, 2, { eps: 0, ...lo(layout) });
      expect(maxAbsDiff(g1, g2)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(g1)));
      const l1 = F.layerNorm(a.x, a.shape, 3, { eps: 0 });
      const l2 = F.layerNorm(xs, a.shape, 3, { eps: 0 });
      expect(maxAbsDiff(l1, l2)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(l1)));
    });
  });

  // (b) -----------------------------------------------------------------------
  it.each(LAYOUTS)('(b) batch norm (training) couples the samples; instance/group/layer norm do not (layout %s)', (layout) => {
    const shape = [4, 3, 11, 7];
    const per = numel(shape) / 4;
    const x = R.toLayout(R.makeData('normal', shape, 5), shape, layout);
    const x2 = x.x.slice();
    // Sample 0 replaced by other data (not an affine map of itself, which the per-sample norms would undo).
    sample(x2, 0, per).set(normals(per, 6, 10, 3));
    const run = (fn: (v: Float32Array) => Float32Array) => [fn(x.x), fn(x2)];
    const [b1, b2] = run((v) => F.batchNorm(v, x.shape, { training: true, ...lo(layout) }));
    for (const n of [1, 2, 3]) expect(maxAbsDiff(sample(b1, n, per), sample(b2, n, per)), `batch norm, sample ${n}`).toBeGreaterThan(0.1);
    for (const [name, fn] of [
      ['instanceNorm', (v: Float32Array) => F.instanceNorm(v, x.shape, lo(layout))],
      ['groupNorm', (v: Float32Array) => F.groupNorm(v, x.shape, 3, lo(layout))],
      ['conditionalInstanceNorm', (v: Float32Array) => F.conditionalInstanceNorm(v, x.shape, Int32Array.of(0, 1, 0, 1), normals(6, 1), normals(6, 2), lo(layout))],
      ['adaIN', (v: Float32Array) => F.adaIN(v, x.shape, normals(3 * 5, 3, 2, 3), layout === 'NHWC' ? [1, 5, 3] : [1, 3, 5], lo(layout))],
      ['layerNorm', (v: Float32Array) => F.layerNorm(v, x.shape, 3)],
      ['batchNorm inference', (v: Float32Array) => F.batchNorm(v, x.shape, { runningMean: normals(3, 4), runningVar: normals(3, 5, 2, 0.1), ...lo(layout) })],
    ] as const) {
      const [y1, y2] = run(fn);
      expect(maxAbsDiff(sample(y1, 0, per), sample(y2, 0, per)), `${name}: sample 0 changed`).toBeGreaterThan(0.1);
      for (const n of [1, 2, 3]) expect(sample(y2, n, per), `${name}, sample ${n}`).toEqual(sample(y1, n, per));
    }
  });

  // (c) -----------------------------------------------------------------------
  it('(c) style removal: instance norm removes each image\'s global contrast and brightness; batch norm (inference) keeps them', () => {
    const N = 16;
    const shape = [N, 3, 24, 24];
    const per = numel(shape) / N;
    const r = rng(77);
    const x = new Float32Array(numel(shape));
    const inMeans: number[] = [];
    for (let n = 0; n < N; n++) {
      const a = Math.exp((r.uniform() * 2 - 1) * 2); // contrast 0.14 .. 7.4
      const b = (r.uniform() * 2 - 1) * 500; // brightness -500 .. 500
      const base = normals(per, 100 + n, 0, 1);
      // Each image's channels differ too (a colour cast), on top of the global a, b.
      for (let i = 0; i < per; i++) x[n * per + i] = a * (base[i] + Math.floor(i / (per / 3)) * 0.7) + b;
      inMeans.push(mean(x.subarray(n * per, (n + 1) * per)));
    }
    for (const layout of LAYOUTS) {
      const a = R.toLayout(x, shape, layout);
      const yi = F.instanceNorm(a.x, a.shape, lo(layout));
      const outIN = Array.from({ length: N }, (_, n) => mean(sample(yi, n, per)));
      // Every image's output has mean ~0 whatever its input mean (which spans +-500): the
      // correlation is nil. (Pearson's r of values at rounding level would only measure
      // rounding noise, so the stronger statement is checked instead, and the
      // regression slope of output on input mean must be ~0 as well.)
      expect(maxAbs(outIN), `${layout}: instance norm output means`).toBeLessThan(1e-5);
      const mi = mean(inMeans);
      const mo = mean(outIN);
      const slope = outIN.reduce((s, v, n) => s + (v - mo) * (inMeans[n] - mi), 0) / inMeans.reduce((s, v) => s + (v - mi) ** 2, 0);
      expect(Math.abs(slope), `${layout}: IN slope`).toBeLessThan(1e-7);
      // Batch norm with fixed running statistics keeps each image's brightness.
      const yb = F.batchNorm(a.x, a.shape, { runningMean: Float32Array.of(10, 20, 30), runningVar: Float32Array.of(900, 900, 900), ...lo(layout) });
      const outBN = Array.from({ length: N }, (_, n) => mean(sample(yb, n, per)));
      expect(Math.abs(pearson(outBN, inMeans)), `${layout}: BN correlation`).toBeGreaterThan(0.9);
      // And batch norm in training mode removes only the batch's mean, not each image's.
      const yt = F.batchNorm(a.x, a.shape, { training: true, ...lo(layout) });
      const outT = Array.from({ length: N }, (_, n) => mean(sample(yt, n, per)));
      expect(Math.abs(pearson(outT, inMeans)), `${layout}: BN training correlation`).toBeGreaterThan(0.9);
    }
  });

  // (d) -----------------------------------------------------------------------
  it.each(LAYOUTS)('(d) conditionalInstanceNorm = instanceNorm then the per-condition affine (layout %s)', (layout) => {
    const shape = [5, 4, 13, 7];
    const K = 3;
    const x = R.makeData('mixed', shape, 9);
    const a = R.toLayout(x, shape, layout);
    const gT = normals(K * 4, 10, 1, 0.5);
    const bT = normals(K * 4, 11);
    for (const condition of [Int32Array.of(2, 0, 2, 1, 0), Uint32Array.of(1, 1, 1, 1, 1)]) {
      const y = R.fromLayout(F.conditionalInstanceNorm(a.x, a.shape, condition, gT, bT, lo(layout)), shape, layout);
      const z: Float32Array = R.fromLayout(F.instanceNorm(a.x, a.shape, lo(layout)), shape, layout);
      const M = 91;
      const expected = Float64Array.from(z, (v, e) => {
        const n = Math.floor(e / (4 * M));
        const c = Math.floor(e / M) % 4;
        return gT[condition[n] * 4 + c] * v + bT[condition[n] * 4 + c];
      });
      expect(R.fwdErr(y, expected)).toBeLessThanOrEqual(1e-5);
      // ... and instanceNorm with the gathered rows as per-sample gamma/beta.
      const ys = R.fromLayout(F.instanceNorm(a.x, a.shape, {
        gamma: Float32Array.from(R.gatherRows(gT, condition, 4)), beta: Float32Array.from(R.gatherRows(bT, condition, 4)), ...lo(layout),
      }), shape, layout);
      expect(maxAbsDiff(y, ys)).toBeLessThanOrEqual(2e-6 * (1 + maxAbs(ys)));
    }
  });

  // (e) -----------------------------------------------------------------------
  it.each(LAYOUTS.flatMap((l) => [false, true].map((u) => [l, u] as const)))(
    '(e) adaIN (alpha 1) output planes have the style planes\' mean and std (layout %s, unbiased %s)',
    (layout, unbiased) => {
      const shape = [2, 3, 15, 17];
      const styleShape = [2, 3, 8, 9];
      const M = 255;
      const Ms = 72;
      // Moderate offsets: the output is float32, and its rounding must not blur the std at 1e-5.
      const r = rng(14);
      const planes = (sh: number[], off: number, s0: number, s1: number) => {
        const v = R.makeData('normal', sh, off);
        const m = numel(sh.slice(2));
        for (let p = 0; p < sh[0] * sh[1]; p++) {
          const o = (r.uniform() * 2 - 1) * off;
          const sd = s0 + r.uniform() * (s1 - s0);
          for (let i = 0; i < m; i++) v[p * m + i] = o + sd * v[p * m + i];
        }
        return v;
      };
      const content = planes(shape, 100, 0.1, 10);
      const style = planes(styleShape, 5, 0.5, 3);
      const c = R.toLayout(content, shape, layout);
      const s = R.toLayout(style, styleShape, layout);
      const y: Float32Array = R.fromLayout(F.adaIN(c.x, c.shape, s.x, s.shape, { eps: 1e-12, unbiased, ...lo(layout) }), shape, layout);
      for (let p = 0; p < 6; p++) {
        const yp = Array.from(y.subarray(p * M, (p + 1) * M));
        const sp = Array.from(style.subarray(p * Ms, (p + 1) * Ms));
        const my = mean(yp);
        const ms = mean(sp);
        // With unbiased: true both variances are unbiased, so the output's unbiased std is the style's.
        const sdy = Math.sqrt(yp.reduce((t, v) => t + (v - my) ** 2, 0) / (unbiased ? M - 1 : M));
        const sds = Math.sqrt(sp.reduce((t, v) => t + (v - ms) ** 2, 0) / (unbiased ? Ms - 1 : Ms));
        expect(Math.abs(my - ms), `plane ${p} mean ${my} vs ${ms}`).toBeLessThanOrEqual(1e-5 * (Math.abs(ms) + sds));
        expect(Math.abs(sdy / sds - 1), `plane ${p} std ${sdy} vs ${sds}`).toBeLessThanOrEqual(1e-5);
      }
    },
  );

  it.each(LAYOUTS)('(e) adaIN with alpha 0 is the content; a broadcast style equals the style repeated (layout %s)', (layout) => {
    const shape = [3, 2, 7, 5];
    const content = R.toLayout(R.makeData('normal', shape, 1), shape, layout);
    const s1 = R.makeData('mixed', [1, 2, 6], 2);
    const style1 = R.toLayout(s1, [1, 2, 6], layout);
    const styleN = R.toLayout(Float32Array.from({ length: 36 }, (_, i) => s1[i % 12]), [3, 2, 6], layout);
    expect(maxAbsDiff(F.adaIN(content.x, content.shape, style1.x, style1.shape, { alpha: 0, ...lo(layout) }), content.x)).toBeLessThanOrEqual(1e-6);
    const yb = F.adaIN(content.x, content.shape, style1.x, style1.shape, lo(layout));
    const yn = F.adaIN(content.x, content.shape, styleN.x, styleN.shape, lo(layout));
    expect(maxAbsDiff(yb, yn)).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(yn)));
    // dstyle of the broadcast style is the sum over the batch of the per-sample dstyle.
    const dy = normals(numel(shape), 3);
    const d = R.toLayout(dy, shape, layout).x;
    const gb = F.adaINBackward(d, content.x, content.shape, style1.x, style1.shape, lo(layout));
    const gn = F.adaINBackward(d, content.x, content.shape, styleN.x, styleN.shape, lo(layout));
    const summed = Float64Array.from({ length: 12 }, (_, i) => gn.dstyle[i] + gn.dstyle[12 + i] + gn.dstyle[24 + i]);
    expect(R.relErr(gb.dstyle, summed)).toBeLessThanOrEqual(1e-5);
    expect(R.relErr(gb.dcontent, gn.dcontent)).toBeLessThanOrEqual(1e-5);
  });

  // (f) -----------------------------------------------------------------------
  function expectMomentsClose(got: { count: Float64Array; mean: Float64Array; m2: Float64Array }, want: typeof got, ctx: string) {
    expect(Array.from(got.count), `${ctx}: count`).toEqual(Array.from(want.count));
    for (let i = 0; i < want.mean.length; i++) {
      const sd = Math.sqrt(want.m2[i] / want.count[i]);
      expect(Math.abs(got.mean[i] - want.mean[i]), `${ctx}: mean[${i}]`).toBeLessThanOrEqual(1e-6 * sd + 1e-9 * Math.abs(want.mean[i]));
      expect(Math.abs(got.m2[i] - want.m2[i]), `${ctx}: m2[${i}]`).toBeLessThanOrEqual(1e-5 * want.m2[i]);
    }
  }

  it.each(LAYOUTS)('(f) mergeMoments of two parts of a batch equals the moments of the whole (over batch; layout %s)', (layout) => {
    const shape = [5, 6, 9, 11];
    const x = R.makeData('mixed', shape, 21);
    const a = R.toLayout(x, shape, layout);
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
      const ref = R.refMergeMoments(m1, m2);
      expect(R.relErr(merged.mean, ref.mean)).toBeLessThanOrEqual(1e-14);
      expect(R.relErr(merged.m2, ref.m2)).toBeLessThanOrEqual(1e-13);
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
    const x = R.makeData('mixed', shape, 22);
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
        expectMomentsClose(merged, R.refMoments(x, shape, { over }), `over ${over} vs float64`);
      }
    }
  });

  it.each(LAYOUTS)('(f) batchNorm with statistics merged from two parts equals batchNorm on the whole batch (layout %s)', (layout) => {
    const shape = [6, 5, 8, 7];
    const x = R.makeData('mixed', shape, 23);
    const a = R.toLayout(x, shape, layout);
    const per = numel(shape) / 6;
    const { gamma, beta } = { gamma: normals(5, 1, 1, 0.5), beta: normals(5, 2) };
    const rm0 = normals(5, 3);
    const rv0 = normals(5, 4, 2, 0.2);
    const rmW = rm0.slice();
    const rvW = rv0.slice();
    const yW = F.batchNorm(a.x, a.shape, { gamma, beta, training: true, runningMean: rmW, runningVar: rvW, ...lo(layout) });
    const k = 2;
    const parts = [a.x.subarray(0, k * per), a.x.subarray(k * per)];
    const shapes = [[k, ...a.shape.slice(1)], [6 - k, ...a.shape.slice(1)]];
    const merged = F.mergeMoments(
      F.moments(parts[0], shapes[0], { over: 'batch', ...lo(layout) }),
      F.moments(parts[1], shapes[1], { over: 'batch', ...lo(layout) }),
    );
    const stats = { mean: merged.mean, var: merged.m2.map((v: number, c: number) => v / merged.count[c]), count: merged.count[0] };
    expect(stats.count).toBe(6 * 56);
    for (let i = 0; i < 2; i++) {
      const rm = rm0.slice();
      const rv = rv0.slice();
      const y = F.batchNorm(parts[i], shapes[i], { gamma, beta, training: true, stats, runningMean: rm, runningVar: rv, ...lo(layout) });
      const want = i === 0 ? yW.subarray(0, k * per) : yW.subarray(k * per);
      expect(maxAbsDiff(y, want), `part ${i}`).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(want)));
      // Each worker's running update (with the merged count) equals the whole batch's.
      expect(R.relErr(rm, rmW), `part ${i} runningMean`).toBeLessThanOrEqual(1e-6);
      expect(R.relErr(rv, rvW), `part ${i} runningVar`).toBeLessThanOrEqual(1e-6);
    }
  });

  // (g) -----------------------------------------------------------------------
  it.each(LAYOUTS)('(g) groupNorm with groups = C is instanceNorm; with groups = 1 it is layerNorm over (C, spatial) (layout %s)', (layout) => {
    const shape = [3, 6, 11, 13];
    const M = 143;
    const x = R.makeData('mixed', shape, 31);
    const a = R.toLayout(x, shape, layout);
    const gamma = normals(6, 1, 1, 0.5);
    const beta = normals(6, 2);
    const meanG = new Float32Array(18);
    const meanI = new Float32Array(18);
    const yg = F.groupNorm(a.x, a.shape, 6, { gamma, beta, mean: meanG, ...lo(layout) });
    const yi = F.instanceNorm(a.x, a.shape, { gamma, beta, mean: meanI, ...lo(layout) });
    expect(maxAbsDiff(yg, yi)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(yi)));
    expect(maxAbsDiff(meanG, meanI)).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(meanI)));
    const dy = R.toLayout(normals(x.length, 3), shape, layout).x;
    const gg = F.groupNormBackward(dy, a.x, a.shape, 6, { gamma, ...lo(layout) });
    const gi = F.instanceNormBackward(dy, a.x, a.shape, { gamma, ...lo(layout) });
    for (const key of ['dx', 'dgamma', 'dbeta']) expect(R.relErr(gg[key], gi[key]), key).toBeLessThanOrEqual(1e-5);

    // groups = 1 vs layerNorm over everything but the batch dim, with gamma/beta expanded to the layout.
    const expand = (p: Float32Array) => Float32Array.from({ length: 6 * M }, (_, e) => p[layout === 'NHWC' ? e % 6 : Math.floor(e / M)]);
    const y1 = F.groupNorm(a.x, a.shape, 1, { gamma, beta, ...lo(layout) });
    const yl = F.layerNorm(a.x, a.shape, 3, { gamma: expand(gamma), beta: expand(beta) });
    expect(maxAbsDiff(y1, yl)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(yl)));
    const g1 = F.groupNormBackward(dy, a.x, a.shape, 1, { gamma, ...lo(layout) });
    const gl = F.layerNormBackward(dy, a.x, a.shape, 3, { gamma: expand(gamma) });
    expect(R.relErr(g1.dx, gl.dx)).toBeLessThanOrEqual(1e-5);
    // layerNorm's elementwise dgamma summed over each channel's positions is groupNorm's dgamma.
    const fold = (d: Float32Array) => Float64Array.from({ length: 6 }, (_, c) => {
      let s = 0;
      for (let e = 0; e < 6 * M; e++) if ((layout === 'NHWC' ? e % 6 : Math.floor(e / M)) === c) s += d[e];
      return s;
    });
    expect(R.relErr(g1.dgamma, fold(gl.dgamma))).toBeLessThanOrEqual(1e-5);
    expect(R.relErr(g1.dbeta, fold(gl.dbeta))).toBeLessThanOrEqual(1e-5);
  });

  // (h) -----------------------------------------------------------------------
  it.each(LAYOUTS)('(h) batchNorm running statistics follow PyTorch\'s rule (unbiased var, momentum), over three steps (layout %s)', (layout) => {
    const shape = [4, 3, 5, 6];
    const count = 4 * 30;
    const runningMean = Float32Array.of(0, 0, 0);
    const runningVar = Float32Array.of(1, 1, 1);
    const rm = [0, 0, 0];
    const rv = [1, 1, 1];
    for (const [step, momentum] of [[0, 0.1], [1, 0.3], [2, undefined]] as const) {
      const x = R.makeData('normal', shape, 40 + step).map((v, e) => v * (1 + Math.floor(e / 30) % 3) + 5 * step);
      const a = R.toLayout(x, shape, layout);
      F.batchNorm(a.x, a.shape, { training: true, runningMean, runningVar, momentum, ...lo(layout) });
      const mo = momentum ?? 0.1; // PyTorch's default
      for (let c = 0; c < 3; c++) {
        const vals: number[] = [];
        for (let n = 0; n < 4; n++) vals.push(...x.subarray((n * 3 + c) * 30, (n * 3 + c + 1) * 30));
        const mu = mean(vals);
        const unbiased = vals.reduce((s, v) => s + (v - mu) ** 2, 0) / (count - 1);
        rm[c] = (1 - mo) * rm[c] + mo * mu;
        rv[c] = (1 - mo) * rv[c] + mo * unbiased;
      }
      expect(maxAbsDiff(runningMean, rm), `step ${step} runningMean`).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(rm)));
      expect(R.relErr(runningVar, rv), `step ${step} runningVar`).toBeLessThanOrEqual(1e-6);
    }
  });

  it('(h) momentum 0 leaves the running statistics unchanged; momentum 1 replaces them with the batch statistics', () => {
    const shape = [3, 2, 17];
    const x = R.makeData('mixed', shape, 50);
    const rm = Float32Array.of(0.25, -3);
    const rv = Float32Array.of(4, 0.5);
    F.batchNorm(x, shape, { training: true, runningMean: rm, runningVar: rv, momentum: 0 });
    expect(Array.from(rm)).toEqual([0.25, -3]);
    expect(Array.from(rv)).toEqual([4, 0.5]);
    F.batchNorm(x, shape, { training: true, runningMean: rm, runningVar: rv, momentum: 1 });
    const st = R.refMoments(x, shape, { over: 'batch' });
    for (let c = 0; c < 2; c++) {
      expect(Math.abs(rm[c] - st.mean[c])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(st.mean[c])));
      expect(Math.abs(rv[c] / (st.m2[c] / (st.count[c] - 1)) - 1)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('(h) inference uses the running statistics and leaves them alone; mean/rstd report them', () => {
    const shape = [2, 3, 9];
    const x = R.makeData('normal', shape, 60);
    const runningMean = Float32Array.of(0.5, -1, 2);
    const runningVar = Float32Array.of(0.25, 4, 1);
    const mean = new Float32Array(3);
    const rstd = new Float32Array(3);
    const y = F.batchNorm(x, shape, { runningMean, runningVar, mean, rstd, momentum: 0.9 });
    expect(Array.from(runningMean)).toEqual([0.5, -1, 2]);
    expect(Array.from(runningVar)).toEqual([0.25, 4, 1]);
    expect(Array.from(mean)).toEqual([0.5, -1, 2]);
    for (let c = 0; c < 3; c++) expect(Math.abs(rstd[c] * Math.sqrt(runningVar[c] + 1e-5) - 1)).toBeLessThanOrEqual(1e-6);
    const want = Float64Array.from(x, (v, e) => { const c = Math.floor(e / 9) % 3; return (v - runningMean[c]) / Math.sqrt(runningVar[c] + 1e-5); });
    expect(R.fwdErr(y, want)).toBeLessThanOrEqual(1e-6);
  });
});
