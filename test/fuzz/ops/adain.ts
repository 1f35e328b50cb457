/**
 * Valid calls of AdaIN, forward and backward: style batch 1 (broadcast) or
 * N, a style plane size of its own, both layouts, alpha blending, biased or
 * unbiased variances, outputs given or in place.
 */
import fc from 'fast-check';
import {
  absentArb, BAD, bit, DATA_KINDS, epsArb, f32, geoArb, inPlace, makeGeo, opt, optionsArg, out32, plan, tensorData, vec,
} from '../gen';
import { lit, list, obj, type Plan } from '../model';
import { dxScale, maxAbsOf, planeSets, setStats, sumScale } from '../scales';

const TOL = 1e-5;

export function adain(fn: 'adaIN' | 'adaINBackward'): fc.Arbitrary<Plan> {
  const backward = fn === 'adaINBackward';
  return fc
    .record({
      g: geoArb(1, 12_000),
      styleBatch: fc.boolean(),
      styleSp: fc.array(fc.constantFrom(1, 2, 3, 5, 8, 16, 23), { minLength: 1, maxLength: 2 }),
      kind: fc.constantFrom(...DATA_KINDS),
      styleKind: fc.constantFrom(...DATA_KINDS),
      seed: fc.integer({ min: 1, max: 1e9 }),
      eps: epsArb,
      alpha: fc.constantFrom(undefined, 0, 0.3, 1),
      unbiased: fc.constantFrom(undefined, true, false),
      out: fc.constantFrom('none', 'given', 'content', 'dy'),
      dstyle: fc.boolean(),
      shared: fc.nat(255),
      absent: absentArb,
      empty: fc.constantFrom('omit', 'undefined', 'null', 'object') as fc.Arbitrary<'omit' | 'undefined' | 'null' | 'object'>,
    })
    .map((r) => {
      const { g } = r;
      const sg = makeGeo(r.styleBatch ? g.n : 1, g.c, r.styleSp, g.layout, g.explicit);
      const content = tensorData(r.kind, r.seed, g);
      const style = tensorData(r.styleKind, r.seed + 1, sg);
      // unbiased needs 2 elements per plane of both.
      const unbiased = r.unbiased && (g.m < 2 || sg.m < 2) ? false : r.unbiased;
      const eps = r.eps ?? 1e-5;
      const scalars: [string, ReturnType<typeof lit> | undefined][] = [
        ['eps', r.eps === undefined ? undefined : lit(r.eps)],
        ['alpha', r.alpha === undefined ? undefined : lit(r.alpha)],
        ['unbiased', unbiased === undefined ? undefined : lit(unbiased)],
        ['layout', g.explicit || g.layout === 'NHWC' ? lit(g.layout) : undefined],
      ];
      const bad = {
        'options.eps': BAD.eps, 'options.layout': BAD.layout, 'options.alpha': BAD.unit, 'options.unbiased': BAD.boolean,
      };
      const tail = [list(g.shape), f32(style, bit(r.shared, 1)), list(sg.shape)];
      const variants = (p: Plan): Plan[] => {
        const i = p.names.indexOf('styleShape');
        const j = p.names.indexOf('style');
        const withStyle = (shape: number[]) => {
          const n = shape.reduce((a, b) => a * b, 1);
          return { ...p, variants: [], args: p.args.map((a, k) => (k === i ? list(shape) : k === j ? f32(vec(n, 9), false) : a)) };
        };
        const cOther = g.layout === 'NCHW' ? [sg.n, g.c + 1, ...sg.sp] : [sg.n, ...sg.sp, g.c + 1];
        const nOther = g.layout === 'NCHW' ? [g.n + 1, g.c, ...sg.sp] : [g.n + 1, ...sg.sp, g.c];
        const out = [withStyle(cOther)];
        if (g.n + 1 !== 1) out.push(withStyle(nOther));
        return out;
      };
      if (!backward) {
        const out = r.out === 'given' ? out32(g.numel, bit(r.shared, 2)) : r.out === 'content' ? inPlace('content', g.numel) : undefined;
        const o = optionsArg(obj([...scalars, ['out', opt(!!out, () => out!, r.absent)]]), r.empty);
        const p = plan({
          fn, names: ['content', 'contentShape', 'style', 'styleShape', 'options'], args: [f32(content, bit(r.shared, 0)), ...tail, o],
          checks: { y: { kind: 'fwd', tol: TOL } },
          slots: [{ path: 'options.out', len: g.numel }], inPlace: { 'options.out': ['content'] }, bad,
        });
        p.variants = variants(p);
        return p;
      }
      const dy = vec(g.numel, r.seed + 3);
      const dc = r.out === 'given' ? out32(g.numel, bit(r.shared, 2))
        : r.out === 'content' ? inPlace('content', g.numel) : r.out === 'dy' ? inPlace('dy', g.numel) : undefined;
      const o = optionsArg(obj([
        ...scalars,
        ['dcontent', opt(!!dc, () => dc!, r.absent)],
        ['dstyle', opt(r.dstyle, () => out32(sg.numel, bit(r.shared, 3)), r.absent)],
      ]), r.empty);
      const ddof = unbiased ? 1 : 0;
      const stc = setStats(content, planeSets(g.n, g.c, g.m, g.layout, g.c), eps, 'var', ddof);
      const sts = setStats(style, planeSets(sg.n, sg.c, sg.m, sg.layout, sg.c), eps, 'var', ddof);
      // sigma_s = sqrt(var_s + eps) <= max |style - mean| + sqrt(eps).
      const sigma = 2 * maxAbsOf(style) + Math.sqrt(eps);
      const maxDy = maxAbsOf(dy);
      const broadcast = g.n / sg.n;
      const p = plan({
        fn, names: ['dy', 'content', 'contentShape', 'style', 'styleShape', 'options'],
        args: [f32(dy, bit(r.shared, 4)), f32(content, bit(r.shared, 0)), ...tail, o],
        checks: {
          dcontent: { kind: 'scaled', tol: TOL, scale: dxScale(stc, maxDy, sigma) + maxDy },
          dstyle: {
            kind: 'scaled', tol: TOL,
            scale: (broadcast * sumScale(g.m, maxDy, stc.maxXhat) * (1 + sts.maxXhat)) / Math.max(1, sg.m - ddof),
          },
        },
        slots: [{ path: 'options.dcontent', len: g.numel }, { path: 'options.dstyle', len: sg.numel }],
        inPlace: { 'options.dcontent': ['dy', 'content'] }, bad,
      });
      p.variants = variants(p);
      return p;
    });
}
