// Finding 6 of the hardening issue: results depended on the ISA or on x
// where they must not. With eps = 0 a plane of subnormal values gave
// +-Infinity on avx512 and JS but 0 on avx2 and scalar (native treated it as
// constant, JS normalized it); batchNormBackward in inference mode gave NaN
// in dx where x was NaN/Inf, though there dx = gamma * dy / sqrt(runningVar
// + eps) does not depend on x. What must hold: one documented subnormal
// behaviour on every ISA and JS (identical results), no 100x slow-down on
// subnormal data, and an inference-mode dx independent of x.
import { describe, expect, it } from 'vitest';
import { F, label, lib, unavailable } from '../helpers/backend-under-test';
import { fromLayout, normals, toLayout } from '../helpers/data.mjs';
import { maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import {
  refBatchNorm, refGroupNorm, refGroupNormBackward, refLayerNorm, refLayerNormBackward, refRmsNorm,
} from '../helpers/reference.mjs';
import { type Layout, LAYOUTS, lo } from '../helpers/op-checks';

/**
 * The documented subnormal behaviour, in this one place: 'flush' (subnormal
 * inputs are read as zero, so a plane of them is a constant plane: output
 * beta, rstd Infinity) or 'keep' (they are normalized like any other
 * values). Expected results below follow from it through the float64
 * reference.
 */
const SUBNORMAL_INPUTS: 'flush' | 'keep' = 'keep';

const FLT_MIN = 1.1754943508222875e-38;
const isSubnormal = (v: number) => v !== 0 && Math.abs(v) < FLT_MIN;
/** x as the library is documented to read it. */
const asRead = (x: Float32Array) => (SUBNORMAL_INPUTS === 'flush' ? x.map((v) => (isSubnormal(v) ? 0 : v)) : x);

const N = 2, C = 4, M = 64;
const SHAPE = [N, C, M];

/**
 * N(0, 1) data with planes (0, 0), (0, 1) and (1, 1) of subnormal values
 * (some zeros, both signs): whole planes, a whole group of 2 channels
 * (sample 0), a whole batch-norm channel (1) and whole rows of M.
 */
function data(): Float32Array {
  const x = normals(N * C * M, 61);
  for (const [n, c] of [[0, 0], [0, 1], [1, 1]]) {
    for (let i = 0; i < M; i++) x[(n * C + c) * M + i] = ((i % 9) - 4) * 1.3e-40 * (1 + c);
  }
  return x;
}

const gamma = normals(C, 62, 1, 0.5);
const beta = normals(C, 63);
const eps = 0;

/**
 * |got - ref| within 1e-5 relative to 1 + max |ref|, Infinity matching
 * Infinity, ref rounded to float32 as the outputs are (a rstd of 1e40, the
 * float64 value for a plane of subnormals kept as they are, is Infinity in
 * a Float32Array).
 */
function expectClose(got: ArrayLike<number>, rawRef: ArrayLike<number>, ctx: string) {
  const ref = Array.from(rawRef, (v) => Math.fround(v));
  const inf = (a: ArrayLike<number>) => Array.from(a, (v) => v === Infinity);
  expect(inf(got), `${ctx}: where Infinity`).toEqual(inf(ref));
  const g = Array.from(got, (v) => (v === Infinity ? 0 : v));
  const r = Array.from(ref, (v) => (v === Infinity ? 0 : v));
  expect(maxAbsDiff(g, r) / (1 + maxAbs(r)), ctx).toBeLessThanOrEqual(1e-5);
}

/** Under 'flush', the subnormal planes' outputs are exactly beta. */
function expectBetaOnSubnormalPlanes(y: Float32Array, ctx: string) {
  if (SUBNORMAL_INPUTS !== 'flush') return;
  for (const [n, c] of [[0, 0], [0, 1]]) {
    for (let i = 0; i < M; i++) expect(y[(n * C + c) * M + i], `${ctx}: plane (${n}, ${c})`).toBe(Math.fround(beta[c]));
  }
}

function forwardCases(layout: Layout) {
  const o = { ...lo(layout), eps, gamma, beta };
  const run = (f: (x: Float32Array, shape: number[]) => Float32Array) => {
    const t = toLayout(data(), SHAPE, layout);
    return fromLayout(f(t.x, t.shape), SHAPE, layout) as Float32Array;
  };
  return {
    [`instanceNorm ${layout}`]: () => {
      const mean = new Float32Array(N * C);
      const rstd = new Float32Array(N * C);
      const y = run((x, s) => F.instanceNorm(x, s, { ...o, mean, rstd }));
      const ref = refGroupNorm(asRead(data()), SHAPE, C, { eps, gamma, beta });
      return { y, mean, rstd, ref };
    },
    [`groupNorm (2 groups) ${layout}`]: () => {
      const mean = new Float32Array(N * 2);
      const rstd = new Float32Array(N * 2);
      const y = run((x, s) => F.groupNorm(x, s, 2, { ...o, mean, rstd }));
      return { y, mean, rstd, ref: refGroupNorm(asRead(data()), SHAPE, 2, { eps, gamma, beta }) };
    },
    [`batchNorm training ${layout}`]: () => {
      const mean = new Float32Array(C);
      const rstd = new Float32Array(C);
      const y = run((x, s) => F.batchNorm(x, s, { ...o, training: true, mean, rstd }));
      return { y, mean, rstd, ref: refBatchNorm(asRead(data()), SHAPE, { eps, gamma, beta, training: true }) };
    },
  };
}

const rowGamma = normals(M, 64, 1, 0.5);
const rowBeta = normals(M, 65);

const ready = unavailable === null;

// Every case per name (kept as a function so a case can be singled out).
const known = (_name: string) => it;

describe.skipIf(!ready)(`finding 6: subnormal planes with eps = 0 on ${label} (documented: ${SUBNORMAL_INPUTS})`, () => {
  for (const layout of LAYOUTS) {
    for (const [name, call] of Object.entries(forwardCases(layout))) {
      known(name)(`finding 6: ${name}: y, mean and rstd as documented`, () => {
        const r = call();
        expectClose(r.y, r.ref.y, `${name}: y`);
        expectClose(r.mean, r.ref.mean, `${name}: mean`);
        expectClose(r.rstd, r.ref.rstd, `${name}: rstd`);
        if (!name.startsWith('batchNorm')) expectBetaOnSubnormalPlanes(r.y, name);
      });
    }
  }

  known('layerNorm')('finding 6: layerNorm rows of subnormals (rows of M)', () => {
    const x = data();
    const rstd = new Float32Array(N * C);
    const y = F.layerNorm(x, SHAPE, 1, { eps, gamma: rowGamma, beta: rowBeta, rstd });
    const ref = refLayerNorm(asRead(x), SHAPE, 1, { eps, gamma: rowGamma, beta: rowBeta });
    expectClose(y, ref.y, 'layerNorm y');
    expectClose(rstd, ref.rstd, 'layerNorm rstd');
  });

  known('rmsNorm')('finding 6: rmsNorm rows of subnormals (rows of M)', () => {
    const x = data();
    const rstd = new Float32Array(N * C);
    const y = F.rmsNorm(x, SHAPE, 1, { eps, gamma: rowGamma, rstd });
    const ref = refRmsNorm(asRead(x), SHAPE, 1, { eps, gamma: rowGamma });
    expectClose(y, ref.y, 'rmsNorm y');
    expectClose(rstd, ref.rstd, 'rmsNorm rstd');
  });

  for (const layout of LAYOUTS) {
    known(`instanceNormBackward ${layout}`)(`finding 6: instanceNormBackward ${layout} on subnormal planes`, () => {
      const x = data();
      const dy = normals(x.length, 66);
      const t = toLayout(x, SHAPE, layout);
      const g = F.instanceNormBackward(toLayout(dy, SHAPE, layout).x, t.x, t.shape, { ...lo(layout), eps, gamma });
      const ref = refGroupNormBackward(dy, asRead(x), SHAPE, C, { eps, gamma });
      expectClose(fromLayout(g.dx, SHAPE, layout), ref.dx, `instanceNormBackward ${layout} dx`);
      expectClose(g.dgamma, ref.dgamma, `instanceNormBackward ${layout} dgamma`);
      expectClose(g.dbeta, ref.dbeta, `instanceNormBackward ${layout} dbeta`);
    });
  }

  known('layerNormBackward')('finding 6: layerNormBackward on rows of subnormals', () => {
    const x = data();
    const dy = normals(x.length, 66);
    const g = F.layerNormBackward(dy, x, SHAPE, 1, { eps, gamma: rowGamma });
    const ref = refLayerNormBackward(dy, asRead(x), SHAPE, 1, { eps, gamma: rowGamma });
    expectClose(g.dx, ref.dx, 'layerNormBackward dx');
    expectClose(g.dgamma, ref.dgamma, 'layerNormBackward dgamma');
  });
});

/**
 * The fastest of 7 interleaved timings of a and of b, in ms: the minimum
 * is what the work costs, whatever else the shared machine is doing.
 */
function fastest(a: () => void, b: () => void): [number, number] {
  const best = [Infinity, Infinity];
  for (let k = 0; k < 7; k++) {
    [a, b].forEach((fn, j) => {
      const t0 = process.hrtime.bigint();
      fn();
      best[j] = Math.min(best[j], Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return [best[0], best[1]];
}

describe.skipIf(!ready)(`finding 6: no slow-down on subnormal data on ${label}`, () => {
  // The issue asks for no 100x slow-down; 10x leaves room for a shared,
  // noisy machine while still catching per-element microcode assists.
  it.each(['instanceNorm', 'instanceNormBackward', 'layerNorm', 'batchNorm'])(
    'finding 6: %s on 1Mi subnormal values takes < 10x the time of 1Mi normal values',
    (op) => {
      const n = 1 << 20;
      const sub = Float32Array.from({ length: n }, (_, i) => ((i % 13) - 6) * 1.1e-39);
      const normal = Float32Array.from({ length: n }, (_, i) => (i % 13) - 6);
      const call = (x: Float32Array) => () => {
        if (op === 'instanceNorm') F.instanceNorm(x, [1, 4, n / 4], { eps });
        else if (op === 'instanceNormBackward') F.instanceNormBackward(x, x, [1, 4, n / 4], { eps });
        else if (op === 'layerNorm') F.layerNorm(x, [64, n / 64], 1, { eps });
        else F.batchNorm(x, [4, 4, n / 16], { training: true, eps });
      };
      for (let k = 0; k < 3; k++) {
        call(normal)();
        call(sub)();
      }
      const [tSub, tNormal] = fastest(call(sub), call(normal));
      const ratio = tSub / tNormal;
      expect(ratio, `${op}: time on subnormal data / time on normal data`).toBeLessThan(10);
    },
  );
});

describe.skipIf(!ready)(`finding 6: batchNormBackward in inference mode does not depend on x on ${label}`, () => {
  it.each(LAYOUTS)('finding 6: NaN and Infinity in x leave dx = gamma * dy / sqrt(runningVar + eps), %s', async (layout) => {
    const x = normals(N * C * M, 67);
    x[3] = NaN;
    x[M + 5] = Infinity;
    x[2 * C * M - 1] = -Infinity;
    const dy = normals(x.length, 68);
    const runningMean = normals(C, 69);
    const runningVar = normals(C, 70, 1, 0.3).map(Math.abs);
    const e = 1e-3;
    const expected = Array.from(dy, (v, i) => {
      const c = Math.floor(i / M) % C;
      return (gamma[c] * v) / Math.sqrt(runningVar[c] + e);
    });
    const t = toLayout(x, SHAPE, layout);
    const d = toLayout(dy, SHAPE, layout).x;
    const o = { ...lo(layout), gamma, runningMean, runningVar, eps: e };
    for (const isAsync of [false, true]) {
      const g = isAsync ? await F.batchNormBackwardAsync(d, t.x, t.shape, o) : F.batchNormBackward(d, t.x, t.shape, o);
      const dx = fromLayout(g.dx, SHAPE, layout) as Float32Array;
      expect(dx.every(Number.isFinite), `dx finite everywhere (async: ${isAsync})`).toBe(true);
      expect(maxAbsDiff(dx, expected) / maxAbs(expected)).toBeLessThanOrEqual(1e-6);
      // dbeta = sum(dy) does not involve x either.
      expect(g.dbeta.every(Number.isFinite)).toBe(true);
    }
  });
});
