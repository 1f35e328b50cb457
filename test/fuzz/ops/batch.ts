/**
 * Valid calls of batch norm, forward and backward: training (batch or
 * given statistics, running statistics updated in place, both running
 * variance conventions) and inference, [N, C] and spatial shapes, both
 * layouts, outputs given or in place.
 */
import fc from 'fast-check';
import { lib, onJs } from '../../helpers/backend-under-test';
import {
  absentArb, BAD, bit, DATA_KINDS, epsArb, f32, geoArb, inPlace, type Geo, opt, optionsArg, out32, plan, positive, tensorData, vec,
} from '../gen';
import { arr, lit, list, obj, type Check, type Plan, type Val } from '../model';
import { channelSets, dxScale, maxAbsOf, setStats, sumScale } from '../scales';
import { replaceOptions } from './group';

const TOL = 1e-5;

const base = {
  g: geoArb(0),
  kind: fc.constantFrom(...DATA_KINDS),
  seed: fc.integer({ min: 1, max: 1e9 }),
  eps: epsArb,
  training: fc.boolean(),
  running: fc.boolean(),
  gamma: fc.boolean(),
  beta: fc.boolean(),
  shared: fc.nat(255),
  absent: absentArb,
  empty: fc.constantFrom('omit', 'undefined', 'null', 'object') as fc.Arbitrary<'omit' | 'undefined' | 'null' | 'object'>,
};

const layoutOpt = (g: Geo) => (g.explicit || g.layout === 'NHWC' ? lit(g.layout) : undefined);

function common(p: Plan, g: Geo): Plan {
  p.bad = {
    'options.eps': BAD.eps, 'options.layout': BAD.layout, 'options.training': BAD.boolean, 'options.momentum': BAD.unit,
  };
  p.inPlace = { [p.slots[0].path]: p.fn === 'batchNorm' ? ['x'] : ['dy', 'x'] };
  return p;
}

export function batchForward(): fc.Arbitrary<Plan> {
  return fc
    .record({
      ...base,
      stats: fc.constantFrom('none', 'f32', 'f64'),
      count: fc.option(fc.integer({ min: 1, max: 10_000 })),
      momentum: fc.constantFrom(undefined, 0, 0.1, 0.37, 1),
      unbiased: fc.constantFrom(undefined, true, false),
      out: fc.constantFrom('none', 'given', 'inplace'),
      saveStats: fc.boolean(),
    })
    .map((r) => {
      const { g } = r;
      const x = tensorData(r.kind, r.seed, g);
      const stats = r.stats === 'none' ? null : { mean: vec(g.c, r.seed + 4), var: positive(g.c, r.seed + 5) };
      // Inference needs running statistics or given ones.
      const running = r.running || (!r.training && !stats);
      const count = stats && r.count !== null ? r.count : g.n * g.m;
      // An unbiased running update needs 2 values per channel.
      const unbiased = r.training && running && count < 2 ? false : r.unbiased;
      const role = r.training ? 'inout' : 'in';
      const statsVal = stats ? obj([
        ['mean', arr(r.stats as 'f32' | 'f64', stats.mean, 'in', bit(r.shared, 6))],
        ['var', arr(r.stats as 'f32' | 'f64', stats.var, 'in', false)],
        ['count', stats && r.count !== null ? lit(r.count) : undefined],
      ]) : undefined;
      const out = r.out === 'given' ? out32(g.numel, bit(r.shared, 1)) : r.out === 'inplace' ? inPlace('x', g.numel) : undefined;
      const o = optionsArg(obj([
        ['gamma', opt(r.gamma, () => f32(vec(g.c, r.seed + 1, 1, 0.5), bit(r.shared, 2)), r.absent)],
        ['beta', opt(r.beta, () => f32(vec(g.c, r.seed + 2), bit(r.shared, 3)), r.absent)],
        ['eps', r.eps === undefined ? undefined : lit(r.eps)],
        ['training', r.training || r.kind === 'tiny' ? lit(r.training) : undefined],
        ['runningMean', opt(running, () => arr('f32', vec(g.c, r.seed + 6), role, bit(r.shared, 4)), r.absent)],
        ['runningVar', opt(running, () => arr('f32', positive(g.c, r.seed + 7), role, bit(r.shared, 5)), r.absent)],
        ['momentum', r.momentum === undefined ? undefined : lit(r.momentum)],
        ['out', opt(!!out, () => out!, r.absent)],
        ['mean', opt(r.saveStats, () => out32(g.c, false), r.absent)],
        ['rstd', opt(r.saveStats, () => out32(g.c, false), r.absent)],
        ['stats', statsVal],
        ['unbiasedRunningVar', unbiased === undefined ? undefined : lit(unbiased)],
        ['layout', layoutOpt(g)],
      ]), r.empty);
      const checks: Record<string, Check> = {
        y: { kind: 'fwd', tol: TOL },
        'options.mean': { kind: 'fwd', tol: 1e-6 },
        'options.rstd': { kind: 'rel', tol: 1e-6 },
        'options.runningMean': { kind: 'fwd', tol: 1e-6 },
        'options.runningVar': { kind: 'scaled', tol: 2e-6, scale: 0 },
      };
      const p = common(plan({
        fn: 'batchNorm', names: ['x', 'shape', 'options'], args: [f32(x, bit(r.shared, 0)), list(g.shape), o], checks,
        slots: [{ path: 'options.out', len: g.numel }, { path: 'options.mean', len: g.c }, { path: 'options.rstd', len: g.c }],
        unread: ['options.stats.mean', 'options.stats.var'],
        accept: { 'options.stats.mean': ['f32', 'f64'], 'options.stats.var': ['f32', 'f64'] },
      }), g);
      // Training updates the running statistics in place: outputs too.
      if (r.training) p.slots.push({ path: 'options.runningMean', len: g.c }, { path: 'options.runningVar', len: g.c });
      p.bad['options.unbiasedRunningVar'] = BAD.boolean;
      p.bad['options.stats'] = [5, 'stats', true, [], {}, new Float64Array(g.c)];
      if (stats) p.bad['options.stats.count'] = [0, -1, 0.5, NaN, Infinity, '3', 2 ** 53 + 2];
      const rm = f32(vec(g.c, 1), false);
      const rv = f32(positive(g.c, 2), false);
      const goodStats = (v: Float32Array) => obj([['mean', f32(vec(g.c, 3), false)], ['var', f32(v, false)]]);
      p.variants.push(
        replaceOptions(p, [['runningMean', rm], ['runningVar', lit(null)]]),
        replaceOptions(p, [['runningVar', rv], ['runningMean', lit(undefined)]]),
        replaceOptions(p, [['training', lit(false)], ['runningMean', lit(null)], ['runningVar', lit(null)], ['stats', lit(null)]]),
        replaceOptions(p, [['stats', goodStats(Float32Array.from({ length: g.c }, (_, i) => (i === g.c - 1 ? -1 : 1)))]]),
        replaceOptions(p, [['stats', goodStats(Float32Array.from({ length: g.c }, (_, i) => (i === 0 ? NaN : 1)))]]),
        replaceOptions(p, [['training', lit(true)], ['runningMean', rm], ['runningVar', rv], ['unbiasedRunningVar', lit(true)],
          ['stats', obj([['mean', f32(vec(g.c, 3), false)], ['var', f32(positive(g.c, 4), false)], ['count', lit(1)]])]]),
      );
      return p;
    });
}

export function batchBackward(): fc.Arbitrary<Plan> {
  return fc
    .record({
      ...base,
      saved: fc.boolean(),
      passExtras: fc.boolean(),
      dx: fc.constantFrom('none', 'given', 'dy', 'x'),
      dgamma: fc.boolean(),
      dbeta: fc.boolean(),
    })
    .map((r) => {
      const { g } = r;
      const x = tensorData(r.kind, r.seed, g);
      const dy = vec(g.numel, r.seed + 3);
      const eps = r.eps ?? 1e-5;
      const gamma = r.gamma ? vec(g.c, r.seed + 1, 1, 0.5) : null;
      const running = !r.training || r.running;
      const rm = vec(g.c, r.seed + 6);
      const rv = positive(g.c, r.seed + 7);
      const saved = r.training && r.saved ? savedStats(x, g, eps) : null;
      const dx = r.dx === 'given' ? out32(g.numel, bit(r.shared, 2)) : r.dx === 'dy' ? inPlace('dy', g.numel) : r.dx === 'x' ? inPlace('x', g.numel) : undefined;
      const o = optionsArg(obj([
        ['gamma', opt(!!gamma, () => f32(gamma!, bit(r.shared, 3)), r.absent)],
        ['beta', r.passExtras && r.beta ? f32(vec(g.c, r.seed + 2), false) : undefined],
        ['eps', r.eps === undefined ? undefined : lit(r.eps)],
        ['training', r.training || r.passExtras ? lit(r.training) : undefined],
        ['runningMean', opt(running, () => f32(rm, bit(r.shared, 4)), r.absent)],
        ['runningVar', opt(running, () => f32(rv, bit(r.shared, 5)), r.absent)],
        ['momentum', r.passExtras ? lit(0.25) : undefined],
        ['mean', opt(!!saved, () => f32(saved!.mean, false), r.absent)],
        ['rstd', opt(!!saved, () => f32(saved!.rstd, false), r.absent)],
        ['dx', opt(!!dx, () => dx!, r.absent)],
        ['dgamma', opt(r.dgamma, () => out32(g.c, bit(r.shared, 6)), r.absent)],
        ['dbeta', opt(r.dbeta, () => out32(g.c, bit(r.shared, 7)), r.absent)],
        ['layout', layoutOpt(g)],
      ]), r.empty);
      const maxDy = maxAbsOf(dy);
      let dxS: number;
      let maxXhat: number;
      if (r.training) {
        const st = setStats(x, channelSets(g.c, g.m, g.layout), eps, 'var');
        dxS = dxScale(st, maxDy, maxAbsOf(gamma));
        maxXhat = st.maxXhat;
      } else {
        // Inference: the running statistics are constants.
        const rs = Array.from(rv, (v) => 1 / Math.sqrt(v + eps));
        dxS = maxDy * maxAbsOf(gamma) * maxAbsOf(rs);
        maxXhat = 0;
        for (let e = 0; e < x.length; e++) {
          const c = g.layout === 'NCHW' ? Math.floor(e / g.m) % g.c : e % g.c;
          maxXhat = Math.max(maxXhat, Math.abs(x[e] - rm[c]) * rs[c]);
        }
      }
      const p = common(plan({
        fn: 'batchNormBackward', names: ['dy', 'x', 'shape', 'options'],
        args: [f32(dy, bit(r.shared, 0)), f32(x, bit(r.shared, 1)), list(g.shape), o],
        checks: {
          dx: { kind: 'scaled', tol: TOL, scale: dxS },
          dgamma: { kind: 'scaled', tol: TOL, scale: sumScale(g.n * g.m, maxDy, maxXhat) },
          dbeta: { kind: 'scaled', tol: TOL, scale: sumScale(g.n * g.m, maxDy) },
        },
        slots: [{ path: 'options.dx', len: g.numel }, { path: 'options.dgamma', len: g.c }, { path: 'options.dbeta', len: g.c }],
      }), g);
      // Unused by the backward: beta; running statistics when training, saved ones in inference.
      p.unread = ['options.beta', ...(r.training ? ['options.runningMean', 'options.runningVar'] : ['options.mean', 'options.rstd'])];
      const s = savedStats(x, g, eps);
      p.variants.push(
        replaceOptions(p, [['training', lit(false)], ['runningMean', lit(null)]]),
        replaceOptions(p, [['training', lit(true)], ['mean', f32(s.mean, false)], ['rstd', lit(null)]]),
      );
      return p;
    });
}

/** The training forward's saved mean and rstd, from the JS backend. */
function savedStats(x: Float32Array, g: Geo, eps: number) {
  const mean = new Float32Array(g.c);
  const rstd = new Float32Array(g.c);
  onJs(() => lib.batchNorm(x, g.shape, { training: true, mean, rstd, eps, layout: g.layout }));
  return { mean, rstd };
}

export type { Val };
