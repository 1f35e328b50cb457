/**
 * Valid calls of the remaining exports: moments (every `over`, both
 * layouts), mergeMoments, and the backend controls (setThreads,
 * getThreads, backend).
 */
import fc from 'fast-check';
import { BAD, DATA_KINDS, divisors, f32, geoArb, optionsArg, plan, vec } from '../gen';
import { arr, lit, list, obj, type Plan } from '../model';

export function moments(): fc.Arbitrary<Plan> {
  return fc
    .record({
      g: geoArb(),
      kind: fc.constantFrom(...DATA_KINDS),
      seed: fc.integer({ min: 1, max: 1e9 }),
      over: fc.constantFrom(undefined, 'instance', 'batch', 'layer', 'group'),
      groupPick: fc.nat(),
      shared: fc.boolean(),
      nullGroups: fc.boolean(),
      empty: fc.constantFrom('omit', 'undefined', 'null', 'object') as fc.Arbitrary<'omit' | 'undefined' | 'null' | 'object'>,
    })
    .map((r) => {
      const { g } = r;
      const groups = divisors(g.c)[r.groupPick % divisors(g.c).length];
      const o = optionsArg(obj([
        ['over', r.over === undefined ? undefined : lit(r.over)],
        ['groups', r.over === 'group' ? lit(groups) : r.nullGroups ? lit(null) : undefined],
        ['layout', g.explicit || g.layout === 'NHWC' ? lit(g.layout) : undefined],
      ]), r.empty);
      const x = new Float32Array(g.numel);
      // moments takes the tensor as is: the data kinds are defined per plane, channels-first.
      x.set(vec(g.numel, r.seed));
      const data = r.kind === 'normal' ? x : Float32Array.from(x, (v, i) => (r.kind === 'offset' ? 1e4 + v : r.kind === 'tiny' ? 1 + 1e-3 * v : i % 3 === 0 ? 2.5 : v));
      const nonDivisor = Array.from({ length: g.c }, (_, i) => i + 1).find((d) => g.c % d !== 0);
      const p = plan({
        fn: 'moments', names: ['x', 'shape', 'options'], args: [f32(data, r.shared), list(g.shape), o],
        checks: {
          count: { kind: 'exact' },
          // Relative to the data's spread: float32 data, statistics in float64.
          mean: { kind: 'scaled', tol: 1e-6, scale: 1 },
          m2: { kind: 'scaled', tol: 1e-5, scale: 0 },
        },
        bad: {
          'options.over': ['Instance', 'channel', '', 3, true, {}],
          'options.layout': BAD.layout,
          'options.groups': r.over === 'group' ? [0, -1, 1.5, NaN, '2', g.c + 1, ...(nonDivisor ? [nonDivisor] : [])] : [1, 2, 0, '1'],
        },
      });
      const without = { ...p, variants: [], args: [...p.args] };
      without.args[2] = obj([['over', lit('group')]]);
      p.variants.push(without);
      return p;
    });
}

export function mergeMoments(): fc.Arbitrary<Plan> {
  return fc
    .record({ len: fc.integer({ min: 1, max: 50 }), seed: fc.integer({ min: 1, max: 1e9 }), zeroCount: fc.boolean() })
    .map((r) => {
      const part = (s: number) => obj([
        ['count', arr('f64', Float64Array.from(vec(r.len, s), (v, i) => (r.zeroCount && i === 0 ? 0 : 1 + Math.round(Math.abs(v) * 100))))],
        ['mean', arr('f64', Float64Array.from(vec(r.len, s + 1)))],
        ['m2', arr('f64', Float64Array.from(vec(r.len, s + 2), (v) => v * v * 10))],
      ]);
      const p = plan({
        fn: 'mergeMoments', names: ['a', 'b'], args: [part(r.seed), part(r.seed + 3)],
        checks: { count: { kind: 'exact' }, mean: { kind: 'exact' }, m2: { kind: 'exact' } },
      });
      const other = obj([
        ['count', arr('f64', new Float64Array(r.len + 1).fill(1))], ['mean', arr('f64', new Float64Array(r.len + 1))],
        ['m2', arr('f64', new Float64Array(r.len + 1))],
      ]);
      const noM2 = obj([['count', arr('f64', new Float64Array(r.len).fill(1))], ['mean', arr('f64', new Float64Array(r.len))]]);
      p.variants.push({ ...p, variants: [], args: [p.args[0], other] }, { ...p, variants: [], args: [noM2, p.args[1]] },
        { ...p, variants: [], args: [lit(null), p.args[1]] }, { ...p, variants: [], args: [p.args[0], lit(5)] });
      return p;
    });
}

export function setThreads(): fc.Arbitrary<Plan> {
  return fc.integer({ min: 1, max: 4 }).map((n) => plan({
    fn: 'setThreads', names: ['threads'], args: [lit(n)], checks: {},
    bad: { threads: [0, -1, 1.5, 1025, NaN, Infinity, '2', null, undefined, 2 ** 53, true, {}] },
  }));
}

export const noArgs = (fn: 'getThreads' | 'backend'): fc.Arbitrary<Plan> =>
  fc.constant(plan({ fn, names: [], args: [], checks: {} }));
