// Finding 8 of the hardening issue, validation gaps: groupNorm(x, shape,
// null) ran instance norm; batchNorm(x, s, { stats: null }) in inference
// threw an engine TypeError naming no argument; moments(x, s, { groups:
// null }) threw; stats.var was checked by index but copied through its
// iterator (an overridden iterator smuggled -5 in: all outputs NaN); adaIN
// with eps 1e308 and unbiased: true was refused by the binding's own
// message, and eps >= 1e300 gave NaN everywhere. What must hold: each is
// refused with an error naming the argument, or works and is right.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { normals } from '../helpers/data.mjs';
import { maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import { refAdaIN, refAdaINBackward } from '../helpers/reference.mjs';
import { expectRefused } from './rejection';

const SHAPE = [2, 4, 9];
const C = 4;
const x = normals(72, 80, 1, 2);

describe.skipIf(unavailable !== null)(`finding 8: validation gaps on ${label}`, () => {
  it('finding 8: groupNorm and groupNormBackward with groups null are TypeErrors naming groups', async () => {
    const out = new Float32Array(72).fill(42.5);
    await expectRefused('groupNorm(x, shape, null)', 'groupNorm', () => [x, SHAPE, null, { out }], { x, out }, TypeError, /\bgroups\b/);
    const dx = new Float32Array(72).fill(42.5);
    await expectRefused('groupNormBackward(dy, x, shape, null)', 'groupNormBackward', () => [x, x, SHAPE, null, { dx }],
      { x, dx }, TypeError, /\bgroups\b/);
  });

  it('finding 8: batchNorm inference with stats: null is an error naming runningMean/runningVar/stats', async () => {
    const out = new Float32Array(72).fill(42.5);
    let e: unknown = null;
    try {
      F.batchNorm(x, SHAPE, { stats: null, out });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toMatch(/runningMean|runningVar|stats/);
    await expectRefused('batchNorm({ stats: null })', 'batchNorm', () => [x, SHAPE, { stats: null, out }], { x, out },
      TypeError, /runningMean|runningVar|stats/);
  });

  it('finding 8: moments with groups: null is the same as without; over group still requires groups', async () => {
    for (const over of ['instance', 'batch', 'layer'] as const) {
      expect(F.moments(x, SHAPE, { over, groups: null })).toEqual(F.moments(x, SHAPE, { over }));
      expect(await F.momentsAsync(x, SHAPE, { over, groups: null })).toEqual(F.moments(x, SHAPE, { over }));
    }
    expect(F.moments(x, SHAPE, { groups: null })).toEqual(F.moments(x, SHAPE));
    expect(() => F.moments(x, SHAPE, { over: 'group', groups: null })).toThrow(/groups/);
  });

  describe('finding 8: stats.var cannot smuggle a value its index does not hold', () => {
    const mean = Float64Array.from([0.5, -1, 2, 0]);
    const variance = Float64Array.from([1, 2, 0.5, 3]);
    const plain = () => F.batchNorm(x, SHAPE, { training: true, stats: { mean, var: Float64Array.from(variance) } });

    class Sneaky extends Float64Array {
      override *[Symbol.iterator](): IterableIterator<number> {
        for (let i = 0; i < this.length; i++) yield -5;
      }
    }
    const ownIterator = Float64Array.from(variance);
    Object.defineProperty(ownIterator, Symbol.iterator, { value: function* () { for (let i = 0; i < 4; i++) yield -5; } });
    const arrayLike = Float64Array.from(variance);
    Object.defineProperty(arrayLike, 'length', { value: 4 }); // own length, shadowing the accessor

    it.each([
      ['a Float64Array subclass whose iterator yields -5', () => Sneaky.from(variance) as Float64Array],
      ['an own Symbol.iterator yielding -5', () => ownIterator],
      ['an own length property', () => arrayLike],
    ])('finding 8: %s: the values read by index are used, or a RangeError', (_what, make) => {
      let y: Float32Array | null = null;
      try {
        y = F.batchNorm(x, SHAPE, { training: true, stats: { mean, var: make() } });
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        expect((e as Error).message).toMatch(/stats\.var/);
        return;
      }
      expect(Array.from(y!)).toEqual(Array.from(plain()));
    });

    it('finding 8: a Proxy over a Float64Array is refused (TypeError naming stats.var)', () => {
      const proxied = new Proxy(Float64Array.from(variance), { get: (t, k) => (k === '0' ? -5 : Reflect.get(t, k)) });
      expect(() => F.batchNorm(x, SHAPE, { training: true, stats: { mean, var: proxied } })).toThrow(/stats\.var/);
    });

    it('finding 8: a negative variance held at an index is a RangeError naming stats.var', () => {
      const bad = Float64Array.from(variance);
      bad[2] = -5;
      expect(() => F.batchNorm(x, SHAPE, { training: true, stats: { mean, var: bad } })).toThrow(RangeError);
      expect(() => F.batchNorm(x, SHAPE, { training: true, stats: { mean, var: bad } })).toThrow(/stats\.var/);
    });
  });

  describe('finding 8: adaIN with a huge eps', () => {
    const content = normals(72, 81, 3, 2);
    const style = normals(2 * C * 5, 82, -1, 4);
    const styleShape = [2, C, 5];
    const dy = normals(72, 83);

    it.each([
      [1e300, false], [1e300, true], [1e305, false], [1e308, false], [1e308, true], [Number.MAX_VALUE, false], [Number.MAX_VALUE, true],
    ])('finding 8: eps %f, unbiased %s: finite and equal to float64, forward and backward', async (eps, unbiased) => {
      const o = { eps, unbiased };
      for (const y of [F.adaIN(content, SHAPE, style, styleShape, o), await F.adaINAsync(content, SHAPE, style, styleShape, o)]) {
        expect(y.every(Number.isFinite), 'y finite').toBe(true);
        const ref = refAdaIN(content, SHAPE, style, styleShape, o).y;
        expect(maxAbsDiff(y, ref) / (1 + maxAbs(ref))).toBeLessThanOrEqual(1e-5);
      }
      const g = F.adaINBackward(dy, content, SHAPE, style, styleShape, o);
      const ref = refAdaINBackward(dy, content, SHAPE, style, styleShape, o);
      for (const k of ['dcontent', 'dstyle'] as const) {
        expect(g[k].every(Number.isFinite), `${k} finite`).toBe(true);
        expect(maxAbsDiff(g[k], ref[k]) / Math.max(maxAbs(ref[k]), ref.scales[k]), k).toBeLessThanOrEqual(1e-5);
      }
    });
  });
});
