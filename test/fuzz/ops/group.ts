/**
 * Valid calls of instance norm, group norm and conditional instance norm
 * (one native op: groupNorm / groupNormBackward), forward and backward:
 * every layout, per-channel / per-sample / conditional affine, outputs
 * given or not, in place, saved statistics from the forward, odd sizes.
 */
import fc from 'fast-check';
import { lib, onJs } from '../../helpers/backend-under-test';
import {
  absentArb, BAD, bit, DATA_KINDS, divisors, epsArb, f32, geoArb, inPlace, type Geo, opt, optionsArg, out32, plan, tensorData, vec,
} from '../gen';
import { arr, lit, obj, list, type Check, type Plan, type Val } from '../model';
import { dxScale, maxAbsOf, planeSets, setStats, sumScale } from '../scales';

type Affine = 'none' | 'channel' | 'sample';
const TOL = 1e-5;

const common = {
  g: geoArb(),
  groupPick: fc.nat(),
  kind: fc.constantFrom(...DATA_KINDS),
  seed: fc.integer({ min: 1, max: 1e9 }),
  eps: epsArb,
  shared: fc.nat(255),
  absent: absentArb,
  empty: fc.constantFrom('omit', 'undefined', 'null', 'object') as fc.Arbitrary<'omit' | 'undefined' | 'null' | 'object'>,
};

/** The options object (see optionsArg for how an empty one is spelled). */
const options = (entries: [string, Val | undefined][], empty: 'omit' | 'undefined' | 'null' | 'object'): Val => optionsArg(obj(entries), empty);

const layoutOpt = (g: Geo) => (g.explicit || g.layout === 'NHWC' ? lit(g.layout) : undefined);
const pickGroups = (fn: string, g: Geo, pick: number) => (fn.startsWith('group') ? divisors(g.c)[pick % divisors(g.c).length] : g.c);
const affineData = (mode: Affine, g: Geo, seed: number, offset: number) =>
  mode === 'none' ? null : vec(mode === 'sample' ? g.n * g.c : g.c, seed, offset, 0.5);

function shared(p: Plan, groups: number, g: Geo): Pick<Plan, 'validLength' | 'bad'> {
  const bad: Plan['bad'] = { 'options.eps': BAD.eps, 'options.layout': BAD.layout };
  if (p.fn.startsWith('group')) {
    const nonDivisor = Array.from({ length: g.c }, (_, i) => i + 1).find((d) => g.c % d !== 0);
    bad.groups = [0, -1, 1.5, NaN, Infinity, '2', null, undefined, g.c + 1, 2 ** 53, ...(nonDivisor ? [nonDivisor] : [])];
  }
  const affine = ['options.gamma', 'options.beta', 'options.dgamma', 'options.dbeta'];
  return {
    bad,
    // gamma/beta (and dgamma/dbeta) may be per channel or per sample.
    validLength: (path, len) => (affine.includes(path) ? len === g.c || len === g.n * g.c : len === lengthOf(p, path)),
  };
}

function lengthOf(p: Plan, path: string): number {
  const parts = path.split('.');
  let v: Val | undefined = p.args[p.names.indexOf(parts[0])];
  for (const key of parts.slice(1)) v = v?.k === 'obj' ? v.entries.find(([k]) => k === key)?.[1] : undefined;
  return v?.k === 'arr' ? v.data.length : -1;
}

export function groupForward(fn: 'instanceNorm' | 'groupNorm'): fc.Arbitrary<Plan> {
  return fc
    .record({
      ...common,
      gamma: fc.constantFrom<Affine>('none', 'channel', 'sample'),
      beta: fc.constantFrom<Affine>('none', 'channel', 'sample'),
      out: fc.constantFrom('none', 'given', 'inplace'),
      mean: fc.boolean(),
      rstd: fc.boolean(),
    })
    .map((r) => {
      const { g } = r;
      const groups = pickGroups(fn, g, r.groupPick);
      const x = tensorData(r.kind, r.seed, g);
      // Both present: the same mode (a mix is an invalid call, made by the mutations).
      const betaMode = r.gamma !== 'none' && r.beta !== 'none' ? r.gamma : r.beta;
      const gamma = affineData(r.gamma, g, r.seed + 1, 1);
      const beta = affineData(betaMode, g, r.seed + 2, 0);
      const out = r.out === 'given' ? out32(g.numel, bit(r.shared, 1)) : r.out === 'inplace' ? inPlace('x', g.numel) : undefined;
      const o = options([
        ['gamma', opt(!!gamma, () => f32(gamma!, bit(r.shared, 2)), r.absent)],
        ['beta', opt(!!beta, () => f32(beta!, bit(r.shared, 3)), r.absent)],
        ['eps', r.eps === undefined ? undefined : lit(r.eps)],
        ['out', opt(!!out, () => out!, r.absent)],
        ['mean', opt(r.mean, () => out32(g.n * groups, bit(r.shared, 4)), r.absent)],
        ['rstd', opt(r.rstd, () => out32(g.n * groups, bit(r.shared, 5)), r.absent)],
        ['layout', layoutOpt(g)],
      ], r.empty);
      const head: Val[] = fn === 'groupNorm' ? [f32(x, bit(r.shared, 0)), list(g.shape), lit(groups)] : [f32(x, bit(r.shared, 0)), list(g.shape)];
      const names = fn === 'groupNorm' ? ['x', 'shape', 'groups', 'options'] : ['x', 'shape', 'options'];
      const checks: Record<string, Check> = {
        y: { kind: 'fwd', tol: TOL }, 'options.mean': { kind: 'fwd', tol: 1e-6 }, 'options.rstd': { kind: 'rel', tol: 1e-6 },
      };
      const p = plan({
        fn, names, args: [...head, o], checks,
        slots: [{ path: 'options.out', len: g.numel }, { path: 'options.mean', len: g.n * groups }, { path: 'options.rstd', len: g.n * groups }],
        inPlace: { 'options.out': ['x'] },
      });
      Object.assign(p, shared(p, groups, g));
      if (g.n > 1) {
        // Per-channel gamma with a per-sample beta.
        p.variants.push(replaceOptions(p, [['gamma', f32(vec(g.c, 5), false)], ['beta', f32(vec(g.n * g.c, 6), false)]]));
      }
      return p;
    });
}

export function groupBackward(fn: 'instanceNormBackward' | 'groupNormBackward'): fc.Arbitrary<Plan> {
  return fc
    .record({
      ...common,
      gamma: fc.constantFrom<Affine>('none', 'channel', 'sample'),
      passBeta: fc.boolean(),
      saved: fc.boolean(),
      dx: fc.constantFrom('none', 'given', 'dy', 'x'),
      dgamma: fc.boolean(),
      dbeta: fc.boolean(),
      perSampleGrads: fc.boolean(),
    })
    .map((r) => {
      const { g } = r;
      const groups = pickGroups(fn, g, r.groupPick);
      const x = tensorData(r.kind, r.seed, g);
      const dy = vec(g.numel, r.seed + 3);
      const gamma = affineData(r.gamma, g, r.seed + 1, 1);
      const perSample = g.n > 1 && (r.gamma === 'sample' || (r.gamma === 'none' && r.perSampleGrads && (r.dgamma || r.dbeta)));
      const affLen = perSample ? g.n * g.c : g.c;
      const eps = r.eps ?? 1e-5;
      const layout = g.layout;
      const saved = r.saved ? savedStats(x, g, groups, eps) : null;
      const dx = r.dx === 'given' ? out32(g.numel, bit(r.shared, 2)) : r.dx === 'dy' ? inPlace('dy', g.numel) : r.dx === 'x' ? inPlace('x', g.numel) : undefined;
      const o = options([
        ['gamma', opt(!!gamma, () => f32(gamma!, bit(r.shared, 3)), r.absent)],
        // Unused by the backward; any valid length.
        ['beta', r.passBeta ? f32(vec(gamma?.length ?? g.c, r.seed + 9), false) : undefined],
        ['eps', r.eps === undefined ? undefined : lit(r.eps)],
        ['mean', opt(!!saved, () => f32(saved!.mean, bit(r.shared, 4)), r.absent)],
        ['rstd', opt(!!saved, () => f32(saved!.rstd, bit(r.shared, 5)), r.absent)],
        ['dx', opt(!!dx, () => dx!, r.absent)],
        ['dgamma', opt(r.dgamma, () => out32(affLen, bit(r.shared, 6)), r.absent)],
        ['dbeta', opt(r.dbeta, () => out32(affLen, bit(r.shared, 7)), r.absent)],
        ['layout', layoutOpt(g)],
      ], r.empty);
      const st = setStats(x, planeSets(g.n, g.c, g.m, layout, groups), eps, 'var');
      const maxDy = maxAbsOf(dy);
      const perParam = perSample ? g.m : g.n * g.m;
      const checks: Record<string, Check> = {
        dx: { kind: 'scaled', tol: TOL, scale: dxScale(st, maxDy, maxAbsOf(gamma)) },
        dgamma: { kind: 'scaled', tol: TOL, scale: sumScale(perParam, maxDy, st.maxXhat) },
        dbeta: { kind: 'scaled', tol: TOL, scale: sumScale(perParam, maxDy) },
      };
      const names = fn === 'groupNormBackward' ? ['dy', 'x', 'shape', 'groups', 'options'] : ['dy', 'x', 'shape', 'options'];
      const head: Val[] = [f32(dy, bit(r.shared, 0)), f32(x, bit(r.shared, 1)), list(g.shape)];
      if (fn === 'groupNormBackward') head.push(lit(groups));
      const p = plan({
        fn, names, args: [...head, o], checks,
        slots: [{ path: 'options.dx', len: g.numel }, { path: 'options.dgamma', len: affLen }, { path: 'options.dbeta', len: affLen }],
        inPlace: { 'options.dx': ['dy', 'x'] },
      });
      Object.assign(p, shared(p, groups, g));
      p.unread = ['options.beta'];
      // Saved statistics come in pairs.
      const half = savedStats(x, g, groups, eps);
      p.variants.push(replaceOptions(p, [['mean', f32(half.mean, false)], ['rstd', lit(null)]]));
      p.variants.push(replaceOptions(p, [['rstd', f32(half.rstd, false)], ['mean', lit(undefined)]]));
      return p;
    });
}

/** The forward's mean and rstd, from the JS backend (the same inputs for every backend under test). */
function savedStats(x: Float32Array, g: Geo, groups: number, eps: number) {
  const mean = new Float32Array(g.n * groups);
  const rstd = new Float32Array(g.n * groups);
  onJs(() => lib.groupNorm(x, g.shape, groups, { mean, rstd, eps, layout: g.layout }));
  return { mean, rstd };
}

/** The plan with some option entries set (replacing entries of the same name). */
export function replaceOptions(p: Plan, set: [string, Val][]): Plan {
  const i = p.names.indexOf('options');
  const cur = p.args[i];
  const entries = (cur.k === 'obj' ? cur.entries : []).filter(([k]) => !set.some(([s]) => s === k));
  const args = [...p.args];
  args[i] = { k: 'obj', entries: [...entries, ...set] };
  return { ...p, args, variants: [] };
}

export function conditional(fn: 'conditionalInstanceNorm' | 'conditionalInstanceNormBackward'): fc.Arbitrary<Plan> {
  return fc
    .record({
      ...common,
      k: fc.integer({ min: 1, max: 4 }),
      unsigned: fc.boolean(),
      condSeed: fc.nat(),
      out: fc.constantFrom('none', 'given', 'inplace', 'dy'),
      stats: fc.boolean(),
      grads: fc.boolean(),
    })
    .map((r) => {
      const { g, k } = r;
      const backward = fn.endsWith('Backward');
      const x = tensorData(r.kind, r.seed, g);
      const cond = Array.from({ length: g.n }, (_, i) => (r.condSeed + i * 7) % k);
      const condition = arr(r.unsigned ? 'u32' : 'i32', cond, 'in', bit(r.shared, 1));
      const gT = vec(k * g.c, r.seed + 1, 1, 0.5);
      const bT = vec(k * g.c, r.seed + 2);
      const eps = r.eps ?? 1e-5;
      const tables: Val[] = [f32(gT, bit(r.shared, 2)), f32(bT, bit(r.shared, 3))];
      const common3 = [list(g.shape), condition, ...tables];
      const layout = layoutOpt(g);
      let p: Plan;
      if (!backward) {
        const out = r.out === 'given' ? out32(g.numel, bit(r.shared, 4)) : r.out === 'inplace' ? inPlace('x', g.numel) : undefined;
        const o = options([
          ['eps', r.eps === undefined ? undefined : lit(r.eps)],
          ['out', opt(!!out, () => out!, r.absent)],
          ['mean', opt(r.stats, () => out32(g.n * g.c, bit(r.shared, 5)), r.absent)],
          ['rstd', opt(r.stats, () => out32(g.n * g.c, bit(r.shared, 6)), r.absent)],
          ['layout', layout],
        ], r.empty);
        p = plan({
          fn, names: ['x', 'shape', 'condition', 'gammaTable', 'betaTable', 'options'], args: [f32(x, bit(r.shared, 0)), ...common3, o],
          checks: { y: { kind: 'fwd', tol: TOL }, 'options.mean': { kind: 'fwd', tol: 1e-6 }, 'options.rstd': { kind: 'rel', tol: 1e-6 } },
          slots: [{ path: 'options.out', len: g.numel }, { path: 'options.mean', len: g.n * g.c }, { path: 'options.rstd', len: g.n * g.c }],
          inPlace: { 'options.out': ['x'] },
        });
      } else {
        const dy = vec(g.numel, r.seed + 3);
        const saved = r.stats ? savedStats(x, g, g.c, eps) : null;
        const dx = r.out === 'given' ? out32(g.numel, bit(r.shared, 4)) : r.out === 'inplace' ? inPlace('x', g.numel) : r.out === 'dy' ? inPlace('dy', g.numel) : undefined;
        const o = options([
          ['eps', r.eps === undefined ? undefined : lit(r.eps)],
          ['mean', opt(!!saved, () => f32(saved!.mean, bit(r.shared, 5)), r.absent)],
          ['rstd', opt(!!saved, () => f32(saved!.rstd, bit(r.shared, 6)), r.absent)],
          ['dx', opt(!!dx, () => dx!, r.absent)],
          ['dgammaTable', opt(r.grads, () => out32(k * g.c, bit(r.shared, 7)), r.absent)],
          ['dbetaTable', opt(r.grads, () => out32(k * g.c, false), r.absent)],
          ['layout', layout],
        ], r.empty);
        const st = setStats(x, planeSets(g.n, g.c, g.m, g.layout, g.c), eps, 'var');
        const maxDy = maxAbsOf(dy);
        p = plan({
          fn, names: ['dy', 'x', 'shape', 'condition', 'gammaTable', 'betaTable', 'options'],
          args: [f32(dy, bit(r.shared, 7)), f32(x, bit(r.shared, 0)), ...common3, o],
          checks: {
            dx: { kind: 'scaled', tol: TOL, scale: dxScale(st, maxDy, maxAbsOf(gT)) },
            dgammaTable: { kind: 'scaled', tol: TOL, scale: sumScale(g.n * g.m, maxDy, st.maxXhat) },
            dbetaTable: { kind: 'scaled', tol: TOL, scale: sumScale(g.n * g.m, maxDy) },
          },
          slots: [{ path: 'options.dx', len: g.numel }, { path: 'options.dgammaTable', len: k * g.c }, { path: 'options.dbetaTable', len: k * g.c }],
          inPlace: { 'options.dx': ['dy', 'x'] },
        });
        p.variants.push(replaceOptions(p, [['mean', f32(savedStats(x, g, g.c, eps).mean, false)], ['rstd', lit(null)]]));
      }
      // condition is copied by the facade; the backward does not read betaTable.
      p.unread = backward ? ['condition', 'betaTable'] : ['condition'];
      p.accept = { condition: ['i32', 'u32'] };
      p.bad = { 'options.eps': BAD.eps, 'options.layout': BAD.layout };
      // Out-of-range conditions, and tables with different row counts.
      const withCond = (v: number[]) => ({ ...p, variants: [], args: p.args.map((a, i) => (p.names[i] === 'condition' ? arr(r.unsigned ? 'u32' : 'i32', v) : a)) });
      p.variants.push(withCond(cond.map((c, i) => (i === 0 ? k : c))));
      p.variants.push(withCond(cond.map((c, i) => (i === g.n - 1 ? -1 : c))));
      p.variants.push({
        ...p, variants: [],
        args: p.args.map((a, i) => (p.names[i] === 'betaTable' ? f32(vec((k + 1) * g.c, 3), false) : a)),
      });
      return p;
    });
}
