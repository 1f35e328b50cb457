// rmsNorm forward (RMSNorm of Llama-style transformers): rows are the last
// normalizedRank dims, y = gamma * x / sqrt(mean(x^2) + eps), no mean
// subtraction, no beta. Parity with the float64 reference and the JS
// fallback on odd row lengths in normalized ranks 1-3, adversarial data
// (offsets of 1e4, values of 1e-20, mixed scales), rows of zeros and NaN,
// views and in-place calls, the threaded path, and properties.
// Skipped, saying so, until the library exports rmsNorm.
import { describe, expect, it } from 'vitest';
import { F, label, missing, onJs, unavailable } from '../helpers/backend-under-test';
import { makeData, normals, numel } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import { refLayerNorm, refRmsNorm } from '../helpers/reference.mjs';
import { expectRstd, TOL } from '../helpers/op-checks';
import { ROW_GRID } from '../helpers/shapes';

const skip = unavailable ?? missing('rmsNorm');

/** max over rows of max |y - ref| / max |ref| in the row: relative to each row's own size (rows of 1e-18 outputs included). */
function rowErr(y: ArrayLike<number>, ref: ArrayLike<number>, L: number): number {
  let worst = 0;
  for (let o = 0; o < ref.length; o += L) {
    let d = 0;
    let m = 0;
    for (let i = o; i < o + L; i++) {
      const e = Math.abs(y[i] - ref[i]);
      if (!(e <= d)) d = e;
      m = Math.max(m, Math.abs(ref[i]));
    }
    const r = m === 0 ? d : d / m;
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

/** rmsNorm on the backend under test, checked against float64 (y, rstd) and returned. */
function check(x: Float32Array, shape: number[], k: number, o: { gamma?: Float32Array; eps?: number } = {}, ctx = '') {
  const L = numel(shape.slice(shape.length - k));
  const rstd = new Float32Array(x.length / L);
  const y = F.rmsNorm(x, shape, k, { ...o, rstd });
  const ref = refRmsNorm(x, shape, k, o);
  const c = `rmsNorm ${JSON.stringify(shape)} normalizedRank=${k} ${ctx}`;
  expect(y, c).toBeInstanceOf(Float32Array);
  expect(y.length, c).toBe(x.length);
  expect(fwdErr(y, ref.y), `${c}: y`).toBeLessThanOrEqual(TOL);
  expect(rowErr(y, ref.y, L), `${c}: y relative to each row`).toBeLessThanOrEqual(TOL);
  expectRstd(rstd, ref.rstd, c);
  return { y, rstd, ref };
}

describe.skipIf(skip !== null)(`rmsNorm on ${label}`, () => {
  describe.each(ROW_GRID)('rows of %i elements as normalized dims %j', (L, row) => {
    const shape = [3, 2, ...row];
    it.each([true, false])('gamma=%s matches float64 (y and rstd) and the JS fallback', (affine) => {
      const x = normals(numel(shape), L + row.length, 0.5, 2);
      const gamma = affine ? normals(L, L, 1, 0.5) : undefined;
      const { y } = check(x, shape, row.length, { gamma });
      const yj = onJs(() => F.rmsNorm(x, shape, row.length, { gamma }));
      expect(fwdErr(y, yj)).toBeLessThanOrEqual(TOL);
    });
  });

  it.each([[[]], [[5]], [[2, 3, 2]]])('leading dims %j (rows of [7, 5] and [33])', (lead) => {
    for (const row of [[7, 5], [33]]) {
      const shape = [...lead, ...row];
      check(normals(numel(shape), 3, -1, 3), shape, row.length, { gamma: normals(numel(row), 4, 1, 0.5) });
    }
  });

  it.each(['normal', 'offset', 'tiny', 'constant planes', 'mixed', 'tiny values'])('adversarial %s data, normalizedRank 1-3', (kind) => {
    const shape = [3, 4, 17, 13];
    const x = makeData(kind, [1, 12, 221], 21);
    for (let k = 1; k <= 3; k++) check(x, shape, k, { gamma: normals(numel(shape.slice(4 - k)), k, 1, 0.5) }, kind);
  });

  it('rows of 1e-20 values (their squares are below float32\'s normal range) with eps = 0 stay accurate', () => {
    const shape = [6, 1023];
    const x = makeData('tiny values', [1, 6, 1023], 5);
    const { y } = check(x, shape, 1, { eps: 0 }, 'tiny values, eps 0');
    expect(maxAbs(y)).toBeGreaterThan(1);
  });

  it('a transformer-like [tokens, hidden] input', () => {
    check(normals(37 * 768, 6, 0.1, 1), [37, 768], 1, { gamma: normals(768, 7, 1, 0.1) });
  });

  it.each([1e-5, 1, 0, 1e-80])('a row of zeros gives y = 0 and rstd = 1/sqrt(eps) with eps = %d; the other rows are exact', (eps) => {
    const shape = [3, 33];
    const x = normals(99, 8);
    x.fill(0, 33, 66);
    const gamma = normals(33, 9, 0, 2); // some negative
    const rstd = new Float32Array(3);
    const y = F.rmsNorm(x, shape, 1, { gamma, eps, rstd });
    expect(y.subarray(33, 66).every((v: number) => v === 0), 'the zero row').toBe(true);
    const want = 1 / Math.sqrt(eps);
    if (Math.fround(want) === Infinity) expect(rstd[1]).toBe(Infinity);
    else expect(Math.abs(rstd[1] / want - 1)).toBeLessThanOrEqual(1e-6);
    const ref = refRmsNorm(x, shape, 1, { gamma, eps });
    expect(fwdErr(y, ref.y)).toBeLessThanOrEqual(TOL);
    expectRstd(Float32Array.of(rstd[0], rstd[2]), [ref.rstd[0], ref.rstd[2]], 'the other rows');
  });

  it('NaN in a row makes that row\'s outputs and rstd NaN, and no other row\'s', () => {
    const shape = [3, 2, 17];
    const x = normals(102, 10);
    x[40] = NaN; // row 2
    const rstd = new Float32Array(6);
    const y = F.rmsNorm(x, shape, 1, { rstd });
    expect(y.subarray(34, 51).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(rstd[2])).toBe(true);
    for (const r of [0, 1, 3, 4, 5]) {
      expect(y.subarray(r * 17, (r + 1) * 17).some(Number.isNaN), `row ${r}`).toBe(false);
      expect(Number.isFinite(rstd[r]), `rstd[${r}]`).toBe(true);
    }
  });

  it('eps defaults to 1e-5 and an absent gamma is 1', () => {
    const shape = [4, 9, 7];
    const x = normals(numel(shape), 11, 0.2, 0.01); // mean(x^2) ~ 0.04: eps matters
    const y = F.rmsNorm(x, shape, 2);
    expect(y).toEqual(F.rmsNorm(x, shape, 2, { eps: 1e-5 }));
    expect(maxAbsDiff(y, F.rmsNorm(x, shape, 2, { gamma: new Float32Array(63).fill(1) }))).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(y)));
    expect(maxAbsDiff(y, F.rmsNorm(x, shape, 2, { eps: 1e-3 }))).toBeGreaterThan(1e-4);
  });

  it('works in place (out === x) and returns the out it was given', () => {
    const shape = [6, 5, 13];
    const x = normals(numel(shape), 12, 1, 2);
    const gamma = normals(13, 13, 1, 0.5);
    const expected = F.rmsNorm(x, shape, 1, { gamma });
    const buf = x.slice();
    expect(F.rmsNorm(buf, shape, 1, { gamma, out: buf })).toBe(buf);
    expect(buf).toEqual(expected);
    const out = new Float32Array(x.length);
    expect(F.rmsNorm(x, shape, 1, { gamma, out })).toBe(out);
    expect(out).toEqual(expected);
  });

  it('reads and writes views at a non-zero byteOffset without touching neighbours', () => {
    const shape = [3, 37];
    const n = 111;
    const x0 = normals(n, 14, 2, 3);
    const gamma = normals(37, 15);
    const expected = F.rmsNorm(x0, shape, 1, { gamma });
    const GUARD = 12345.5;
    const big = new Float32Array(3 + n + 5 + n + 3 + 3 + 2).fill(GUARD);
    const x = big.subarray(3, 3 + n);
    x.set(x0);
    const out = big.subarray(3 + n + 5, 3 + 2 * n + 5);
    const rstd = big.subarray(3 + 2 * n + 8, 3 + 2 * n + 11);
    F.rmsNorm(x, shape, 1, { gamma, out, rstd });
    expect(out).toEqual(expected);
    expect(x).toEqual(x0);
    expectRstd(rstd, refRmsNorm(x0, shape, 1).rstd, 'view');
    const guards = [...big.subarray(0, 3), ...big.subarray(3 + n, 3 + n + 5), ...big.subarray(3 + 2 * n + 5, 3 + 2 * n + 8), ...big.subarray(3 + 2 * n + 11)];
    expect(guards.every((v) => v === GUARD)).toBe(true);
  });

  it.each([[[4, 128, 768], 1], [[2, 64, 48, 48], 2], [[2, 64, 48, 48], 3]] as const)('a %j tensor (threaded path), normalizedRank %i', (shape, k) => {
    const L = numel(shape.slice(shape.length - k));
    check(makeData('mixed', [1, numel(shape) / L, L], 16), [...shape], k, { gamma: normals(L, 17, 1, 0.3) });
  });
});

describe.skipIf(skip !== null)(`rmsNorm properties on ${label}`, () => {
  it.each([3.5, 1e-3, 1e3])('scaling a row by %d > 0 leaves its output unchanged (eps = 0); the other rows are untouched', (a) => {
    const shape = [4, 3, 11];
    const x = normals(numel(shape), 18, 1, 2);
    const xs = x.slice();
    for (let i = 33; i < 66; i++) xs[i] *= a; // rows 3-5
    const y1 = F.rmsNorm(x, shape, 1, { eps: 0 });
    const y2 = F.rmsNorm(xs, shape, 1, { eps: 0 });
    expect(maxAbsDiff(y1, y2) / (1 + maxAbs(y1))).toBeLessThanOrEqual(1e-5);
    expect(y2.subarray(0, 33)).toEqual(y1.subarray(0, 33));
    expect(y2.subarray(66)).toEqual(y1.subarray(66));
  });

  it('negating the input negates the output (any eps); scaling by -2 does too with eps = 0', () => {
    const shape = [5, 64];
    const x = normals(320, 19, 0.5, 1);
    const gamma = normals(64, 20, 1, 0.5);
    const y = F.rmsNorm(x, shape, 1, { gamma });
    expect(maxAbsDiff(F.rmsNorm(x.map((v) => -v), shape, 1, { gamma }), y.map((v: number) => -v))).toBeLessThanOrEqual(1e-6);
    const y0 = F.rmsNorm(x, shape, 1, { gamma, eps: 0 });
    expect(maxAbsDiff(F.rmsNorm(x.map((v) => -2 * v), shape, 1, { gamma, eps: 0 }), y0.map((v: number) => -v))).toBeLessThanOrEqual(1e-5);
  });

  it('each output row has mean(y^2) = ms/(ms + eps), ms = mean(x^2) of the input row', () => {
    const shape = [6, 1023];
    const x = normals(numel(shape), 21, 0.003, 0.002); // ms ~ 1e-5: eps matters
    const y = F.rmsNorm(x, shape, 1);
    for (let r = 0; r < 6; r++) {
      let ys = 0;
      let xs = 0;
      for (let i = r * 1023; i < (r + 1) * 1023; i++) { ys += y[i] ** 2; xs += x[i] ** 2; }
      const ms = xs / 1023;
      expect(Math.abs(ys / 1023 / (ms / (ms + 1e-5)) - 1), `row ${r}`).toBeLessThan(1e-5);
    }
  });

  it('gamma scales the output elementwise', () => {
    const shape = [7, 3, 5];
    const x = normals(numel(shape), 22);
    const gamma = normals(15, 23, 0, 3);
    const y1 = F.rmsNorm(x, shape, 2);
    const yg = F.rmsNorm(x, shape, 2, { gamma });
    const want = Float64Array.from(y1, (v: number, e: number) => v * gamma[e % 15]);
    expect(maxAbsDiff(yg, want)).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(want)));
  });

  it('on rows whose mean is exactly 0, rmsNorm is layerNorm (same y and rstd)', () => {
    const L = 50;
    const half = normals(4 * (L / 2), 24, 1, 2);
    // Each row is v and -v: its sum is exactly 0, so mean(x^2) is its variance.
    const x = Float32Array.from({ length: 4 * L }, (_, e) => {
      const r = Math.floor(e / L);
      const i = e % L;
      return i < L / 2 ? half[r * (L / 2) + i] : -half[r * (L / 2) + i - L / 2];
    });
    const gamma = normals(L, 25, 1, 0.5);
    const rstd = new Float32Array(4);
    const y = F.rmsNorm(x, [4, L], 1, { gamma, rstd });
    const ln = refLayerNorm(x, [4, L], 1, { gamma });
    expect(fwdErr(y, ln.y)).toBeLessThanOrEqual(TOL);
    expectRstd(rstd, ln.rstd, 'layer norm rstd');
    expect(fwdErr(y, F.layerNorm(x, [4, L], 1, { gamma }))).toBeLessThanOrEqual(TOL);
  });
});
