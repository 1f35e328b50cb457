// adaIN and adaINBackward: parity with the float64 reference in both
// layouts, style batch 1 (broadcast) or N, biased and unbiased variances,
// alpha blending, adversarial data, the threaded path, finite-difference
// gradient checks, and properties (the output takes the style's statistics).
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, makeData, normals, numel, randn64, rng, toLayout } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff, relErr } from '../helpers/metrics.mjs';
import { refAdaIN, refAdaINBackward } from '../helpers/reference.mjs';
import { describeGradChecks, EPS, type GradCase, io, rename } from '../helpers/gradcheck';
import { expectGrads, GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, mean, NHWC_CHANNELS, TOL } from '../helpers/op-checks';
import { spatialShapes } from '../helpers/shapes';

type AdaOpts = { alpha?: number; unbiased?: boolean; eps?: number };

function checkAdaIN(shape: number[], styleShape: number[], layout: Layout, o: AdaOpts, content: Float32Array, style: Float32Array) {
  const a = toLayout(content, shape, layout);
  const s = toLayout(style, styleShape, layout);
  const y = F.adaIN(a.x, a.shape, s.x, s.shape, { ...o, ...lo(layout) });
  const ref = refAdaIN(content, shape, style, styleShape, o);
  const ctx = `adaIN ${layout} content ${JSON.stringify(shape)} style ${JSON.stringify(styleShape)} ${JSON.stringify(o)}`;
  expect(fwdErr(fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
}

function checkAdaINb(shape: number[], styleShape: number[], layout: Layout, o: AdaOpts, content: Float32Array, style: Float32Array, seed: number) {
  const dy = normals(content.length, seed + 1000);
  const a = toLayout(content, shape, layout);
  const s = toLayout(style, styleShape, layout);
  const d = toLayout(dy, shape, layout).x;
  const got = F.adaINBackward(d, a.x, a.shape, s.x, s.shape, { ...o, ...lo(layout) });
  const ref = refAdaINBackward(dy, content, shape, style, styleShape, o);
  const ctx = `adaINBackward ${layout} content ${JSON.stringify(shape)} style ${JSON.stringify(styleShape)} ${JSON.stringify(o)}`;
  expect(got.dcontent.length, ctx).toBe(content.length);
  expect(got.dstyle.length, ctx).toBe(style.length);
  expectGrads({ dcontent: fromLayout(got.dcontent, shape, layout), dstyle: fromLayout(got.dstyle, styleShape, layout) }, ref, ['dcontent', 'dstyle'], ctx);
}

const ADAIN_OPTS = [{}, { alpha: 0.5 }, { alpha: 0 }, { unbiased: true }, { alpha: 0.25, unbiased: true, eps: 1e-3 }];

describe.skipIf(unavailable !== null)(`adaIN on ${label}`, () => {
  describe.each(GRID)('content plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 2].map((ns) => [l, ns] as const)))('layout %s, style batch %i matches float64', (layout, Ns) => {
      const shape = [2, 3, ...spatial];
      const ms = m === 17 ? 33 : 17; // the style's planes differ in size
      const styleSpatial = spatialShapes(ms)[spatial.length - 1];
      const styleShape = [Ns, 3, ...styleSpatial];
      const content = makeData('normal', shape, m + spatial.length);
      const style = makeData('mixed', styleShape, m + 50);
      // unbiased needs 2+ elements in every content and style plane.
      for (const o of ADAIN_OPTS) if (m > 1 || !('unbiased' in o)) checkAdaIN(shape, styleShape, layout, o, content, style);
      // The same spatial size as the content.
      const same = makeData('mixed', [Ns, 3, ...spatial], m + 51);
      if (m > 1) checkAdaIN(shape, [Ns, 3, ...spatial], layout, { unbiased: true }, content, same);
      checkAdaIN(shape, [Ns, 3, ...spatial], layout, {}, content, same);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const [spatial, styleSpatial] of [[[7], [9]], [[33], [1]], [[31, 33], [5, 7]]]) {
      const shape = [3, C, ...spatial];
      const content = makeData('normal', shape, C);
      for (const Ns of [1, 3]) {
        const styleShape = [Ns, C, ...styleSpatial];
        const style = makeData('mixed', styleShape, C + Ns);
        checkAdaIN(shape, styleShape, 'NHWC', { alpha: 0.75 }, content, style);
      }
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s content and style, layout %s', (kind, layout) => {
    const shape = [2, 4, 17, 31];
    const styleShape = [2, 4, 9, 11];
    const content = makeData(kind, shape, 40);
    const style = makeData(kind, styleShape, 41);
    checkAdaIN(shape, styleShape, layout, {}, content, style);
    checkAdaIN(shape, styleShape, layout, { alpha: 0.5, unbiased: true }, content, style);
  });

  it.each(LAYOUTS)('a constant content plane becomes the style plane\'s mean (layout %s)', (layout) => {
    const shape = [2, 4, 5, 7];
    const a = toLayout(new Float32Array(numel(shape)).fill(-1234.5), shape, layout);
    // Style plane q has mean q * 0.5.
    const style = toLayout(Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => (i % 3) - 1 + Math.floor(i / 3) * 0.5), [2, 4, 3], layout);
    const ya = fromLayout(F.adaIN(a.x, a.shape, style.x, style.shape, lo(layout)), shape, layout);
    expect(maxAbsDiff(ya, Float32Array.from({ length: a.x.length }, (_, e) => Math.floor(e / 35) * 0.5))).toBeLessThanOrEqual(1e-6);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    checkAdaIN(LARGE, [1, 64, 40, 40], layout, { alpha: 0.8 }, makeData('mixed', LARGE, 99), makeData('mixed', [1, 64, 40, 40], 4));
  });
});

describe.skipIf(unavailable !== null)(`adaINBackward on ${label}`, () => {
  describe.each(GRID.filter(([m]) => m > 1))('content plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 2].map((ns) => [l, ns] as const)))('layout %s, style batch %i', (layout, Ns) => {
      const shape = [2, 3, ...spatial];
      const ms = m === 17 ? 33 : 17;
      const styleShape = [Ns, 3, ...spatialShapes(ms)[spatial.length - 1]];
      const content = makeData('normal', shape, m + spatial.length);
      const style = makeData('mixed', styleShape, m + 50);
      for (const o of ADAIN_OPTS) checkAdaINb(shape, styleShape, layout, o, content, style, m);
      checkAdaINb(shape, [Ns, 3, ...spatial], layout, { unbiased: true }, content, makeData('normal', [Ns, 3, ...spatial], m + 300), m + 1);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const [spatial, styleSpatial] of [[[7], [9]], [[33], [2]], [[31, 33], [5, 7]]]) {
      const shape = [3, C, ...spatial];
      const content = makeData('normal', shape, C);
      for (const Ns of [1, 3]) {
        const styleShape = [Ns, C, ...styleSpatial];
        checkAdaINb(shape, styleShape, 'NHWC', { alpha: 0.75, unbiased: Ns === 1 }, content, makeData('mixed', styleShape, C + Ns), C);
      }
    }
  });

  it.each(KINDS.filter((k) => k !== 'constant planes').flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))(
    'adversarial %s content and style, layout %s',
    (kind, layout) => {
      const shape = [2, 4, 17, 31];
      const styleShape = [2, 4, 9, 11];
      const content = makeData(kind, shape, 40);
      const style = makeData(kind, styleShape, 41);
      checkAdaINb(shape, styleShape, layout, {}, content, style, 1);
      checkAdaINb(shape, [1, 4, 9, 11], layout, { alpha: 0.5, unbiased: true }, content, style.subarray(0, 4 * 99), 2);
    },
  );

  it('constant content planes and constant style planes', () => {
    const shape = [2, 4, 17, 31];
    const styleShape = [2, 4, 9, 11];
    for (const layout of LAYOUTS) {
      checkAdaINb(shape, styleShape, layout, { alpha: 0.5 }, makeData('constant planes', shape, 40), makeData('normal', styleShape, 41), 1);
      checkAdaINb(shape, styleShape, layout, { alpha: 0.5 }, makeData('normal', shape, 40), makeData('constant planes', styleShape, 41), 1);
    }
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path): adaINBackward with a broadcast style, layout %s', (layout) => {
    checkAdaINb(LARGE, [1, 64, 40, 40], layout, { alpha: 0.8 }, makeData('mixed', LARGE, 199), makeData('mixed', [1, 64, 40, 40], 6), 6);
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function adaINCase(shape: number[], styleShape: number[], o: { alpha?: number; unbiased?: boolean }): GradCase {
  const opts = { ...o, eps: EPS };
  return {
    name: `adaIN content ${JSON.stringify(shape)} style ${JSON.stringify(styleShape)} ${JSON.stringify(o)}`,
    inputs: () => ({ content: randn64(numel(shape), 15, 1, 2), style: randn64(numel(styleShape), 16, -3, 1.5) }),
    wrt: ['content', 'style'],
    outputs: numel(shape),
    forward: (a) => refAdaIN(a.content, shape, a.style, styleShape, opts).y,
    backward: (w, a) => rename(refAdaINBackward(w, a.content, shape, a.style, styleShape, opts), { content: 'dcontent', style: 'dstyle' }),
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const s = io(styleShape, layout);
      const g = F.adaINBackward(t.to(w), t.to(a.content), t.shape, s.to(a.style), s.shape, { ...opts, ...t.opt });
      return { content: t.from(g.dcontent), style: s.from(g.dstyle) };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

describe.skipIf(unavailable !== null)(`adaIN gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [
    adaINCase([2, 2, 6], [1, 2, 5], { alpha: 0.5, unbiased: true }),
    adaINCase([2, 3, 2, 3], [2, 3, 4], {}),
    adaINCase([3, 2, 4], [3, 2, 2], { alpha: 0.3 }),
  ]);
});

// ---------------------------------------------------------------------------
// Properties.

describe.skipIf(unavailable !== null)(`adaIN properties on ${label}`, () => {
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
        const v = makeData('normal', sh, off);
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
      const c = toLayout(content, shape, layout);
      const s = toLayout(style, styleShape, layout);
      const y: Float32Array = fromLayout(F.adaIN(c.x, c.shape, s.x, s.shape, { eps: 1e-12, unbiased, ...lo(layout) }), shape, layout);
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
    const content = toLayout(makeData('normal', shape, 1), shape, layout);
    const s1 = makeData('mixed', [1, 2, 6], 2);
    const style1 = toLayout(s1, [1, 2, 6], layout);
    const styleN = toLayout(Float32Array.from({ length: 36 }, (_, i) => s1[i % 12]), [3, 2, 6], layout);
    expect(maxAbsDiff(F.adaIN(content.x, content.shape, style1.x, style1.shape, { alpha: 0, ...lo(layout) }), content.x)).toBeLessThanOrEqual(1e-6);
    const yb = F.adaIN(content.x, content.shape, style1.x, style1.shape, lo(layout));
    const yn = F.adaIN(content.x, content.shape, styleN.x, styleN.shape, lo(layout));
    expect(maxAbsDiff(yb, yn)).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(yn)));
    // dstyle of the broadcast style is the sum over the batch of the per-sample dstyle.
    const dy = normals(numel(shape), 3);
    const d = toLayout(dy, shape, layout).x;
    const gb = F.adaINBackward(d, content.x, content.shape, style1.x, style1.shape, lo(layout));
    const gn = F.adaINBackward(d, content.x, content.shape, styleN.x, styleN.shape, lo(layout));
    const summed = Float64Array.from({ length: 12 }, (_, i) => gn.dstyle[i] + gn.dstyle[12 + i] + gn.dstyle[24 + i]);
    expect(relErr(gb.dstyle, summed)).toBeLessThanOrEqual(1e-5);
    expect(relErr(gb.dcontent, gn.dcontent)).toBeLessThanOrEqual(1e-5);
  });
});
