// rmsNormBackward: with r the row's rstd and xhat = x * r,
// dx = r * (gamma*dy - xhat * mean(gamma*dy*xhat)) and dgamma[i] = sum over
// rows of dy*xhat; the saved rstd is used when given, else recomputed with
// eps. Parity with the float64 reference and the JS fallback on odd row
// lengths in normalized ranks 1-3, adversarial data, rows of zeros, views
// and in-place calls, the threaded path, and finite-difference gradient
// checks. Skipped, saying so, until the library exports rmsNormBackward.
import { describe, expect, it } from 'vitest';
import { F, label, missing, onJs, unavailable } from '../helpers/backend-under-test';
import { makeData, normals, numel, randn64 } from '../helpers/data.mjs';
import { maxAbs, relErr, relErrScaled } from '../helpers/metrics.mjs';
import { refRmsNorm, refRmsNormBackward } from '../helpers/reference.mjs';
import { describeGradChecks, EPS, type GradCase, rename } from '../helpers/gradcheck';
import { expectGrads, TOL } from '../helpers/op-checks';
import { ROW_GRID } from '../helpers/shapes';

const skip = unavailable ?? missing('rmsNorm', 'rmsNormBackward');

type Opts = { gamma?: Float32Array; eps?: number; rstd?: Float32Array };

/**
 * rmsNormBackward on the backend under test against float64 (dx, dgamma).
 * `saved` passes the forward's rstd, which the reference then uses too.
 */
function check(x: Float32Array, dy: Float32Array, shape: number[], k: number, o: Opts, saved: boolean, ctx = '') {
  const L = numel(shape.slice(shape.length - k));
  const opts: Opts = { ...o };
  if (saved) {
    opts.rstd = new Float32Array(x.length / L);
    F.rmsNorm(x, shape, k, { gamma: o.gamma, eps: o.eps, rstd: opts.rstd });
  }
  const got = F.rmsNormBackward(dy, x, shape, k, opts);
  const ref = refRmsNormBackward(dy, x, shape, k, opts);
  expectGrads(got, ref, ['dx', 'dgamma'], `rmsNormBackward ${JSON.stringify(shape)} normalizedRank=${k} saved=${saved} ${ctx}`);
  return { got, ref, opts };
}

describe.skipIf(skip !== null)(`rmsNormBackward on ${label}`, () => {
  describe.each(ROW_GRID)('rows of %i elements as normalized dims %j', (L, row) => {
    const shape = [3, 2, ...row];
    it.each([[true, true], [true, false], [false, true], [false, false]])('gamma=%s saved-rstd=%s matches float64 and the JS fallback', (affine, saved) => {
      const x = normals(numel(shape), L + row.length, 0.5, 2);
      const dy = normals(numel(shape), L + 100);
      const gamma = affine ? normals(L, L, 1, 0.5) : undefined;
      const { got, ref, opts } = check(x, dy, shape, row.length, { gamma }, saved);
      const j = onJs(() => F.rmsNormBackward(dy, x, shape, row.length, opts));
      expect(relErrScaled(got.dx, j.dx, ref.scales.dx)).toBeLessThanOrEqual(TOL);
      expect(relErrScaled(got.dgamma, j.dgamma, ref.scales.dgamma)).toBeLessThanOrEqual(TOL);
    });
  });

  it.each([[[]], [[5]], [[2, 3, 2]]])('leading dims %j (rows of [7, 5] and [33])', (lead) => {
    for (const row of [[7, 5], [33]]) {
      const shape = [...lead, ...row];
      const x = normals(numel(shape), 3, -1, 3);
      const dy = normals(numel(shape), 4);
      check(x, dy, shape, row.length, { gamma: normals(numel(row), 5, 1, 0.5) }, lead.length === 1);
    }
  });

  it.each(['normal', 'offset', 'tiny', 'constant planes', 'mixed', 'tiny values'])('adversarial %s data, normalizedRank 1-3, recomputed and saved rstd', (kind) => {
    const shape = [3, 4, 17, 13];
    const x = makeData(kind, [1, 12, 221], 21);
    const dy = normals(x.length, 22);
    for (let k = 1; k <= 3; k++) {
      const gamma = normals(numel(shape.slice(4 - k)), k, 1, 0.5);
      check(x, dy, shape, k, { gamma }, false, kind);
      check(x, dy, shape, k, { gamma }, true, kind);
    }
  });

  it('rows of 1e-20 values with eps = 0 stay accurate', () => {
    const x = makeData('tiny values', [1, 6, 1023], 5);
    check(x, normals(x.length, 6), [6, 1023], 1, { eps: 0 }, false, 'tiny values, eps 0');
  });

  it('nearly constant dy (dx is a small difference of large terms) stays accurate', () => {
    const shape = [4, 1023];
    const x = normals(numel(shape), 7, 0.3, 1);
    check(x, normals(x.length, 8, 5, 1e-3), shape, 1, { gamma: normals(1023, 9, 1, 0.1) }, false);
  });

  it('a row of zeros with eps = 0: zero dx there and no dgamma share; the other rows are exact', () => {
    const shape = [3, 33];
    const x = normals(99, 10);
    x.fill(0, 33, 66);
    const dy = normals(99, 11);
    const gamma = normals(33, 12, 1, 0.5);
    const got = F.rmsNormBackward(dy, x, shape, 1, { gamma, eps: 0 });
    expect(maxAbs(got.dx.subarray(33, 66))).toBe(0);
    expect(Number.isFinite(maxAbs(got.dx)) && Number.isFinite(maxAbs(got.dgamma))).toBe(true);
    const rows = (a: Float32Array) => Float32Array.of(...a.subarray(0, 33), ...a.subarray(66));
    const others = refRmsNormBackward(rows(dy), rows(x), [2, 33], 1, { gamma, eps: 0 });
    expectGrads({ dx: rows(got.dx), dgamma: got.dgamma }, others, ['dx', 'dgamma'], 'rows 0 and 2');
    // The same with the saved rstd (Infinity for the zero row).
    const rstd = new Float32Array(3);
    F.rmsNorm(x, shape, 1, { gamma, eps: 0, rstd });
    expect(rstd[1]).toBe(Infinity);
    const saved = F.rmsNormBackward(dy, x, shape, 1, { gamma, rstd });
    expect(maxAbs(saved.dx.subarray(33, 66))).toBe(0);
    expectGrads({ dx: rows(saved.dx), dgamma: saved.dgamma }, others, ['dx', 'dgamma'], 'rows 0 and 2, saved rstd');
  });

  it('the saved rstd is used when given; eps only matters when it is not', () => {
    const shape = [5, 16];
    const x = normals(80, 13, 0, 0.01); // mean(x^2) ~ 1e-4: eps = 1e-2 changes rstd a lot
    const dy = normals(80, 14);
    const rstd = new Float32Array(5);
    F.rmsNorm(x, shape, 1, { eps: 1e-2, rstd });
    const saved = F.rmsNormBackward(dy, x, shape, 1, { rstd });
    expectGrads(saved, refRmsNormBackward(dy, x, shape, 1, { rstd }), ['dx', 'dgamma'], 'saved rstd (of eps 1e-2)');
    const recomputed = F.rmsNormBackward(dy, x, shape, 1, { eps: 1e-2 });
    expectGrads(recomputed, refRmsNormBackward(dy, x, shape, 1, { eps: 1e-2 }), ['dx', 'dgamma'], 'recomputed with eps 1e-2');
    const dflt = F.rmsNormBackward(dy, x, shape, 1);
    expect(relErr(dflt.dx, saved.dx)).toBeGreaterThan(1e-2);
  });

  it('returns { dx, dgamma } of the right lengths; supplied outputs are returned and overwritten (not accumulated into)', () => {
    const shape = [2, 3, 4, 5];
    const x = normals(120, 15);
    const dy = normals(120, 16);
    const gamma = normals(20, 17, 1, 0.5);
    const fresh = F.rmsNormBackward(dy, x, shape, 2, { gamma });
    expect(Object.keys(fresh).sort()).toEqual(['dgamma', 'dx']);
    expect(fresh.dx.length).toBe(120);
    expect(fresh.dgamma.length).toBe(20);
    const dx = new Float32Array(120).fill(123);
    const dgamma = new Float32Array(20).fill(-5);
    const got = F.rmsNormBackward(dy, x, shape, 2, { gamma, dx, dgamma });
    expect(got.dx).toBe(dx);
    expect(got.dgamma).toBe(dgamma);
    expect(dx).toEqual(fresh.dx);
    expect(dgamma).toEqual(fresh.dgamma);
  });

  it.each(['dy', 'x'] as const)('dx may be %s itself (in place)', (which) => {
    const shape = [4, 3, 7];
    const x = normals(84, 18, 1, 2);
    const dy = normals(84, 19);
    const gamma = normals(21, 20, 1, 0.5);
    const expected = F.rmsNormBackward(dy, x, shape, 2, { gamma });
    const dy2 = dy.slice();
    const x2 = x.slice();
    const target = which === 'dy' ? dy2 : x2;
    const got = F.rmsNormBackward(dy2, x2, shape, 2, { gamma, dx: target });
    expect(got.dx).toBe(target);
    expect(got.dx).toEqual(expected.dx);
    expect(got.dgamma).toEqual(expected.dgamma);
  });

  it('reads and writes views at a non-zero byteOffset without touching neighbours', () => {
    const shape = [2, 21];
    const n = 42;
    const x = normals(n, 21);
    const dy = normals(n, 22);
    const gamma = normals(21, 23);
    const expected = F.rmsNormBackward(dy, x, shape, 1, { gamma });
    const GUARD = -777.25;
    const big = new Float32Array(1 + n + 1 + n + 1 + n + 1 + 21 + 1).fill(GUARD);
    let at = 1;
    const take = (len: number) => { const v = big.subarray(at, at + len); at += len + 1; return v; };
    const xv = take(n); xv.set(x);
    const dyv = take(n); dyv.set(dy);
    const dx = take(n);
    const dgamma = take(21);
    F.rmsNormBackward(dyv, xv, shape, 1, { gamma, dx, dgamma });
    expect(dx).toEqual(expected.dx);
    expect(dgamma).toEqual(expected.dgamma);
    for (const i of [0, 1 + n, 2 + 2 * n, 3 + 3 * n, 25 + 3 * n]) expect(big[i]).toBe(GUARD);
  });

  it.each([[[4, 128, 768], 1], [[2, 64, 48, 48], 2]] as const)('a %j tensor (threaded path), normalizedRank %i, recomputed and saved rstd', (shape, k) => {
    const L = numel(shape.slice(shape.length - k));
    const x = makeData('mixed', [1, numel(shape) / L, L], 24);
    const dy = normals(x.length, 25);
    const gamma = normals(L, 26, 1, 0.3);
    check(x, dy, [...shape], k, { gamma }, false);
    check(x, dy, [...shape], k, { gamma }, true);
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function rmsNormCase(shape: number[], k: number, zeroRow = false): GradCase {
  const L = numel(shape.slice(shape.length - k));
  return {
    name: `rmsNorm ${JSON.stringify(shape)} normalizedRank=${k}${zeroRow ? ', a row of zeros' : ''}`,
    inputs: () => {
      const x = randn64(numel(shape), 4, -0.5, 2);
      if (zeroRow) x.fill(0, 0, L);
      return { x, gamma: randn64(L, 5, 1, 0.5) };
    },
    wrt: ['x', 'gamma'],
    outputs: numel(shape),
    forward: (a) => refRmsNorm(a.x, shape, k, { gamma: a.gamma, eps: EPS }).y,
    backward: (w, a) => rename(refRmsNormBackward(w, a.x, shape, k, { gamma: a.gamma, eps: EPS }), { x: 'dx', gamma: 'dgamma' }),
    lib: (w, a) => {
      const g = F.rmsNormBackward(w, a.x, shape, k, { gamma: a.gamma, eps: EPS });
      return { x: g.dx, gamma: g.dgamma };
    },
    layouts: ['NCHW'],
  };
}

describe.skipIf(skip !== null)(`rmsNorm gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [
    rmsNormCase([2, 3, 4], 2),
    rmsNormCase([3, 7], 1),
    rmsNormCase([2, 2, 3], 3),
    rmsNormCase([5, 1], 1),
    rmsNormCase([4, 6], 1, true),
  ]);
});
