// Finding 7 of the hardening issue: native moments() returned Float64Arrays
// with float32-level error (mean error up to 40x PyTorch's float32
// var_mean, variance error 6e-3). What must hold: moments() is as accurate
// as a float64 computation on every backend: within 1e-12 relative of exact
// on N(0, 1), offset 1e4 and heavy-tailed data, for every `over` and both
// layouts.
//
// "Exact" is exact: every float32 is an integer multiple of 2^-149, so sums
// of values and of squares are BigInts, and mean = S / n and
// M2 = (n Q - S^2) / n are rounded to float64 once, at the end. Errors:
// the mean's relative to |mean| + standard deviation (the scale of the
// data: N(0, 1)'s mean is ~0), M2's relative to M2.
import { describe, expect, it } from 'vitest';
import { F, label, lib, unavailable } from '../helpers/backend-under-test';
import { rng, toLayout } from '../helpers/data.mjs';

const TOL = 1e-12;
// Above the 256Ki threshold of the threaded native path; planes of 65 537
// elements span two 64Ki chunks.
const SHAPE = [2, 3, 65537];
const GROUPS = 3;
const SCALE = 2 ** 149;

function data(kind: string, n: number, seed: number): Float32Array {
  const r = rng(seed);
  if (kind === 'N(0, 1)') return Float32Array.from({ length: n }, () => r.normal());
  if (kind === 'offset 1e4') return Float32Array.from({ length: n }, () => 1e4 + r.normal());
  // Heavy tails: Student's t with 2 degrees of freedom (infinite variance in
  // the limit; in a sample, a few values thousands of deviations out).
  return Float32Array.from({ length: n }, () => r.normal() / Math.sqrt((r.normal() ** 2 + r.normal() ** 2) / 2));
}

/** The float64 nearest to num / den (BigInts), times 2^-shift. */
function ratio(num: bigint, den: bigint, shift: number): number {
  const q = (num << 64n) / den;
  return Number(q) * 2 ** -64 * 2 ** -shift;
}

interface Exact { count: number[]; mean: number[]; m2: number[] }

/** Exact moments of x ([N, C, M], channels-first) per statistic of `over`. */
function exactMoments(x: Float32Array, over: string): Exact {
  const [N, C, M] = SHAPE;
  const S = over === 'instance' ? N * C : over === 'batch' ? C : over === 'layer' ? N : N * GROUPS;
  const setOf = (n: number, c: number) =>
    over === 'instance' ? n * C + c : over === 'batch' ? c : over === 'layer' ? n : n * GROUPS + Math.floor(c / (C / GROUPS));
  const sum = new Array<bigint>(S).fill(0n);
  const sq = new Array<bigint>(S).fill(0n);
  const cnt = new Array<number>(S).fill(0);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const k = setOf(n, c);
    let s = 0n;
    let q = 0n;
    for (let i = (n * C + c) * M, end = i + M; i < end; i++) {
      const m = BigInt(x[i] * SCALE); // exact: x[i] * 2^149 is an integer
      s += m;
      q += m * m;
    }
    sum[k] += s;
    sq[k] += q;
    cnt[k] += M;
  }
  return {
    count: cnt,
    mean: sum.map((s, k) => ratio(s, BigInt(cnt[k]), 149)),
    m2: sq.map((q, k) => ratio(BigInt(cnt[k]) * q - sum[k] * sum[k], BigInt(cnt[k]), 298)),
  };
}

const KINDS = ['N(0, 1)', 'offset 1e4', 'heavy-tailed (Student t, 2 d.o.f.)'];
const OVERS = ['instance', 'batch', 'layer', 'group'] as const;

// finding 7: fixed by the lead. Measured today: the native ISAs miss the
// bar (see the report for the errors); the JS backend passes.
const knownFailing = false;

describe.skipIf(unavailable !== null)(`finding 7: moments() accuracy on ${label}`, () => {
  describe.each(KINDS)('%s data', (kind) => {
    const x = data(kind, SHAPE.reduce((a, b) => a * b, 1), KINDS.indexOf(kind) + 70);
    const exact = Object.fromEntries(OVERS.map((o) => [o, exactMoments(x, o)]));
    (knownFailing ? it.fails : it).each(OVERS.flatMap((over) => (['NCHW', 'NHWC'] as const).map((l) => [over, l] as const)))(
      'finding 7: over %s, %s: mean and M2 within 1e-12 of exact',
      (over, layout) => {
        const t = toLayout(x, SHAPE, layout);
        const got = F.moments(t.x, t.shape, { over, layout, ...(over === 'group' ? { groups: GROUPS } : {}) });
        const ex = exact[over];
        expect(Array.from(got.count)).toEqual(ex.count);
        let meanErr = 0;
        let m2Err = 0;
        for (let k = 0; k < ex.mean.length; k++) {
          const sd = Math.sqrt(ex.m2[k] / ex.count[k]);
          meanErr = Math.max(meanErr, Math.abs(got.mean[k] - ex.mean[k]) / (Math.abs(ex.mean[k]) + sd));
          m2Err = Math.max(m2Err, Math.abs(got.m2[k] - ex.m2[k]) / ex.m2[k]);
        }
        expect(Math.max(meanErr, m2Err), `${kind}, over ${over}, ${layout}: mean error ${meanErr}, M2 error ${m2Err}`)
          .toBeLessThanOrEqual(TOL);
      },
    );
  });
});
