/**
 * Valid calls of the row operations, layer norm and RMS norm, forward and
 * backward: any rank, any normalizedRank, elementwise affine or none,
 * outputs given or in place, saved statistics.
 */
import fc from 'fast-check';
import { lib, onJs } from '../../helpers/backend-under-test';
import { makeData } from '../../helpers/data.mjs';
import { absentArb, BAD, bit, DATA_KINDS, epsArb, f32, inPlace, opt, optionsArg, out32, plan, vec } from '../gen';
import { lit, list, obj, type Check, type Plan } from '../model';
import { dxScale, maxAbsOf, rowSets, setStats, sumScale } from '../scales';
import { replaceOptions } from './group';

const TOL = 1e-5;
const DIMS = [1, 2, 3, 4, 5, 7, 8, 16, 17, 31, 64, 100, 129];

interface Rows { shape: number[]; k: number; rows: number; len: number; numel: number }

const rowsArb: fc.Arbitrary<Rows> = fc
  .oneof(
    { weight: 39, arbitrary: fc.array(fc.constantFrom(...DIMS), { minLength: 1, maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom([16, 20_000], [300, 1000], [2, 3, 50_000]).map((s) => [...s]) },
  )
  .filter((shape) => shape.reduce((a, b) => a * b, 1) <= 400_000)
  .chain((shape) => fc.integer({ min: 1, max: shape.length }).map((k) => {
    const len = shape.slice(shape.length - k).reduce((a, b) => a * b, 1);
    const numel = shape.reduce((a, b) => a * b, 1);
    return { shape, k, len, rows: numel / len, numel };
  }))
  .filter((r) => r.numel <= 20_000 || r.numel >= 250_000);

export function rowOp(fn: 'layerNorm' | 'layerNormBackward' | 'rmsNorm' | 'rmsNormBackward'): fc.Arbitrary<Plan> {
  const rms = fn.startsWith('rms');
  const backward = fn.endsWith('Backward');
  return fc
    .record({
      s: rowsArb,
      kind: fc.constantFrom(...DATA_KINDS),
      seed: fc.integer({ min: 1, max: 1e9 }),
      eps: epsArb,
      gamma: fc.boolean(),
      beta: fc.boolean(),
      out: fc.constantFrom('none', 'given', 'x', 'dy'),
      stats: fc.boolean(),
      grads: fc.boolean(),
      shared: fc.nat(255),
      absent: absentArb,
      empty: fc.constantFrom('omit', 'undefined', 'null', 'object') as fc.Arbitrary<'omit' | 'undefined' | 'null' | 'object'>,
    })
    .map((r) => {
      const { s } = r;
      const x = makeData(r.kind, [1, s.rows, s.len], r.seed) as Float32Array;
      const gamma = r.gamma ? vec(s.len, r.seed + 1, 1, 0.5) : null;
      const eps = r.eps ?? 1e-5;
      const epsV = r.eps === undefined ? undefined : lit(r.eps);
      const g = opt(!!gamma, () => f32(gamma!, bit(r.shared, 2)), r.absent);
      const st = setStats(x, rowSets(s.rows, s.len), eps, rms ? 'ms' : 'var');
      const bad = { 'options.eps': BAD.eps, normalizedRank: [0, -1, s.shape.length + 1, 1.5, NaN, '1', null, undefined, true] };
      if (!backward) {
        const out = r.out === 'given' ? out32(s.numel, bit(r.shared, 1)) : r.out === 'x' ? inPlace('x', s.numel) : undefined;
        const o = optionsArg(obj([
          ['gamma', g],
          ['beta', rms ? undefined : opt(r.beta, () => f32(vec(s.len, r.seed + 2), bit(r.shared, 3)), r.absent)],
          ['eps', epsV],
          ['out', opt(!!out, () => out!, r.absent)],
          ['mean', rms ? undefined : opt(r.stats, () => out32(s.rows, bit(r.shared, 4)), r.absent)],
          ['rstd', opt(r.stats, () => out32(s.rows, bit(r.shared, 5)), r.absent)],
        ]), r.empty);
        const checks: Record<string, Check> = {
          y: { kind: 'fwd', tol: TOL }, 'options.mean': { kind: 'fwd', tol: 1e-6 }, 'options.rstd': { kind: 'rel', tol: 1e-6 },
        };
        const slots = [{ path: 'options.out', len: s.numel }, { path: 'options.rstd', len: s.rows }];
        if (!rms) slots.push({ path: 'options.mean', len: s.rows });
        return plan({
          fn, names: ['x', 'shape', 'normalizedRank', 'options'], args: [f32(x, bit(r.shared, 0)), list(s.shape), lit(s.k), o],
          checks, slots, inPlace: { 'options.out': ['x'] }, bad,
        });
      }
      const dy = vec(s.numel, r.seed + 3);
      const saved = r.stats ? savedStats(fn, x, s, eps) : null;
      const dx = r.out === 'given' ? out32(s.numel, bit(r.shared, 1)) : r.out === 'x' ? inPlace('x', s.numel) : r.out === 'dy' ? inPlace('dy', s.numel) : undefined;
      const o = optionsArg(obj([
        ['gamma', g],
        ['beta', rms || !r.beta ? undefined : f32(vec(s.len, r.seed + 2), false)],
        ['eps', epsV],
        ['mean', rms ? undefined : opt(!!saved, () => f32(saved!.mean, bit(r.shared, 4)), r.absent)],
        ['rstd', opt(!!saved, () => f32(saved!.rstd, bit(r.shared, 5)), r.absent)],
        ['dx', opt(!!dx, () => dx!, r.absent)],
        ['dgamma', opt(r.grads, () => out32(s.len, bit(r.shared, 6)), r.absent)],
        ['dbeta', rms ? undefined : opt(r.grads, () => out32(s.len, bit(r.shared, 7)), r.absent)],
      ]), r.empty);
      const maxDy = maxAbsOf(dy);
      const checks: Record<string, Check> = {
        dx: { kind: 'scaled', tol: TOL, scale: dxScale(st, maxDy, maxAbsOf(gamma)) },
        dgamma: { kind: 'scaled', tol: TOL, scale: sumScale(s.rows, maxDy, st.maxXhat) },
        dbeta: { kind: 'scaled', tol: TOL, scale: sumScale(s.rows, maxDy) },
      };
      const slots = [{ path: 'options.dx', len: s.numel }, { path: 'options.dgamma', len: s.len }];
      if (!rms) slots.push({ path: 'options.dbeta', len: s.len });
      const p = plan({
        fn, names: ['dy', 'x', 'shape', 'normalizedRank', 'options'],
        args: [f32(dy, bit(r.shared, 0)), f32(x, bit(r.shared, 1)), list(s.shape), lit(s.k), o],
        checks, slots, inPlace: { 'options.dx': ['dy', 'x'] }, bad,
      });
      p.unread = ['options.beta'];
      if (!rms) {
        const half = savedStats(fn, x, s, eps);
        p.variants.push(replaceOptions(p, [['rstd', f32(half.rstd, false)], ['mean', lit(null)]]));
      }
      return p;
    });
}

/** The forward's saved statistics, from the JS backend. */
function savedStats(fn: string, x: Float32Array, s: Rows, eps: number) {
  const mean = new Float32Array(s.rows);
  const rstd = new Float32Array(s.rows);
  if (fn.startsWith('rms')) onJs(() => lib.rmsNorm(x, s.shape, s.k, { rstd, eps }));
  else onJs(() => lib.layerNorm(x, s.shape, s.k, { mean, rstd, eps }));
  return { mean, rstd };
}
