/**
 * The operations built from the backend's primitives (lib/kernels.ts):
 * group/instance norm channels-last, batch norm, AdaIN's style statistics
 * and moments. Each is one statistics pass and one apply pass over memory
 * (backward: one reduction pass and one apply pass), with the float64
 * folding in between (fold.ts). Arguments are validated by the caller.
 */
import type { Kernels } from '../kernels';
import type { Layout } from '../validate';
import {
  affineCoeffs, gradCoeffs, mergeInto, groupGrads, rstdOf, setAffine, type CoStats,
} from './fold';

type F32 = Float32Array;

/** A shape reduced to what the kernels need: N, C and spatial size S. */
export interface Dims {
  n: number;
  c: number;
  s: number;
  layout: Layout;
}

/** Per-(n, c) mean and M2 (count s each) in either layout. */
export function unitMoments(k: Kernels, x: F32, d: Dims): { mean: Float64Array; m2: Float64Array } {
  const units = d.n * d.c;
  const mean = new Float64Array(units);
  const m2 = new Float64Array(units);
  if (d.layout === 'NCHW') k.planeMoments(x, units, d.s, mean, m2);
  else k.channelsLastMoments(x, d.n, d.s, d.c, mean, m2);
  return { mean, m2 };
}

/** Per-(n, c) joint statistics of x and dy in either layout. */
export function unitCoMoments(k: Kernels, dy: F32, x: F32, d: Dims): CoStats {
  const units = d.n * d.c;
  const s: CoStats = {
    count: d.s, meanX: new Float64Array(units), meanDy: new Float64Array(units),
    m2X: new Float64Array(units), cXDy: new Float64Array(units),
  };
  if (d.layout === 'NCHW') k.planeCoMoments(dy, x, units, d.s, s.meanX, s.meanDy, s.m2X, s.cXDy);
  else k.channelsLastCoMoments(dy, x, d.n, d.s, d.c, s.meanX, s.meanDy, s.m2X, s.cXDy);
  return s;
}

function applyAffine(k: Kernels, x: F32, y: F32, d: Dims, co: ReturnType<typeof affineCoeffs>): void {
  if (d.layout === 'NCHW') k.planeAffine(x, y, d.n * d.c, d.s, co.sub, co.scale, co.shift);
  else k.channelsLastAffine(x, y, d.n, d.s, d.c, co.sub, co.scale, co.shift);
}

function applyGrad(k: Kernels, dy: F32, x: F32, dx: F32, d: Dims, g: ReturnType<typeof gradCoeffs>): void {
  if (d.layout === 'NCHW') k.planeBackwardApply(dy, x, dx, d.n * d.c, d.s, g.dySub, g.xSub, g.a, g.b, g.c);
  else k.channelsLastBackwardApply(dy, x, dx, d.n, d.s, d.c, g.dySub, g.xSub, g.a, g.b, g.c);
}

/** Sums per-unit shares into per-channel (over n, in order) or keeps them per sample. */
function reduceShares(shares: Float64Array, out: F32, n: number, c: number, perSample: boolean): void {
  if (perSample) {
    out.set(shares);
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += shares[i * c + ch];
    out[ch] = acc;
  }
}

export interface GroupForwardArgs {
  x: F32; y: F32; d: Dims; groups: number;
  gamma: F32 | null; beta: F32 | null; perSample: boolean; blend: number; eps: number;
  mean: F32 | null; rstd: F32 | null;
}

/** Group norm (instance norm: groups = C), fused kernel channels-first, composed channels-last. */
export function groupForward(k: Kernels, a: GroupForwardArgs): void {
  const { d } = a;
  const cpg = d.c / a.groups;
  if (d.layout === 'NCHW') {
    k.groupNormForward(a.x, a.y, d.n, a.groups, cpg, d.s, a.gamma, a.beta, a.perSample, a.blend, a.eps, a.mean, a.rstd);
    return;
  }
  const st = unitMoments(k, a.x, d);
  const units = d.n * d.c;
  const co = affineCoeffs(units);
  const acc = new Float64Array(3);
  for (let u0 = 0, grp = 0; u0 < units; u0 += cpg, grp++) {
    acc.fill(0);
    for (let j = u0; j < u0 + cpg; j++) mergeInto(acc, d.s, st.mean[j], st.m2[j]);
    const [cnt, mu, m2] = acc;
    const r = rstdOf(m2, cnt, a.eps);
    if (a.mean) a.mean[grp] = mu;
    if (a.rstd) a.rstd[grp] = r;
    for (let j = u0; j < u0 + cpg; j++) {
      const p = a.perSample ? j : j % d.c;
      setAffine(co, j, mu, r, m2 === 0, a.gamma ? a.gamma[p] : 1, a.beta ? a.beta[p] : 0, a.blend);
    }
  }
  applyAffine(k, a.x, a.y, d, co);
}

export interface GroupBackwardArgs {
  dy: F32; x: F32; dx: F32; dgamma: F32; dbeta: F32; d: Dims; groups: number;
  gamma: F32 | null; perSample: boolean; blend: number; mean: F32 | null; rstd: F32 | null; eps: number;
}

export function groupBackward(k: Kernels, a: GroupBackwardArgs): void {
  const { d } = a;
  const cpg = d.c / a.groups;
  if (d.layout === 'NCHW') {
    k.groupNormBackward(a.dy, a.x, a.dx, a.dgamma, a.dbeta, d.n, a.groups, cpg, d.s, a.gamma, a.perSample,
      a.blend, a.mean, a.rstd, a.eps);
    return;
  }
  const units = d.n * d.c;
  const st = unitCoMoments(k, a.dy, a.x, d);
  const gc = gradCoeffs(units);
  const gamma = a.gamma;
  const gammaOf = gamma ? (a.perSample ? (u: number) => gamma[u] : (u: number) => gamma[u % d.c]) : () => 1;
  const shares = groupGrads(st, units, cpg, gammaOf, a.mean && a.rstd ? a.rstd : null, a.eps, a.blend, gc);
  applyGrad(k, a.dy, a.x, a.dx, d, gc);
  reduceShares(shares.dgamma, a.dgamma, d.n, d.c, a.perSample);
  reduceShares(shares.dbeta, a.dbeta, d.n, d.c, a.perSample);
}

/** Per-channel statistics over (N, spatial), merged over n in order. */
export function channelStats(
  k: Kernels, x: F32, d: Dims,
): { count: number; mean: Float64Array; m2: Float64Array } {
  const st = unitMoments(k, x, d);
  const mean = new Float64Array(d.c);
  const m2 = new Float64Array(d.c);
  const acc = new Float64Array(3);
  for (let ch = 0; ch < d.c; ch++) {
    acc.fill(0);
    for (let i = 0; i < d.n; i++) mergeInto(acc, d.s, st.mean[i * d.c + ch], st.m2[i * d.c + ch]);
    mean[ch] = acc[1];
    m2[ch] = acc[2];
  }
  return { count: d.n * d.s, mean, m2 };
}

export interface BatchForwardArgs {
  x: F32; y: F32; d: Dims; gamma: F32 | null; beta: F32 | null; eps: number;
  /** Per-channel mean and biased variance to normalize with. */
  mean: ArrayLike<number>; variance: ArrayLike<number>;
  /** The statistics are the data's own (a zero variance then means constant data: xhat = 0). */
  ownStats: boolean;
  meanOut: F32 | null; rstdOut: F32 | null;
}

/** y = gamma (x - mean) / sqrt(var + eps) + beta per channel, as one apply pass. */
export function batchApply(k: Kernels, a: BatchForwardArgs): void {
  const { d } = a;
  const co = affineCoeffs(d.n * d.c);
  for (let ch = 0; ch < d.c; ch++) {
    const r = 1 / Math.sqrt(a.variance[ch] + a.eps);
    if (a.meanOut) a.meanOut[ch] = a.mean[ch];
    if (a.rstdOut) a.rstdOut[ch] = r;
    setAffine(co, ch, a.mean[ch], r, a.ownStats && a.variance[ch] === 0, a.gamma ? a.gamma[ch] : 1, a.beta ? a.beta[ch] : 0, 0);
  }
  for (let i = 1; i < d.n; i++) {
    co.sub.copyWithin(i * d.c, 0, d.c);
    co.scale.copyWithin(i * d.c, 0, d.c);
    co.shift.copyWithin(i * d.c, 0, d.c);
  }
  applyAffine(k, a.x, a.y, d, co);
}

export interface BatchBackwardArgs {
  dy: F32; x: F32; dx: F32; dgamma: F32; dbeta: F32; d: Dims; gamma: F32 | null; eps: number;
  /** Training: saved batch rstd (or null: recomputed). */
  rstd: F32 | null;
  /** Inference: the running statistics the forward used. */
  running: { mean: F32; variance: F32 } | null;
}

export function batchBackward(k: Kernels, a: BatchBackwardArgs): void {
  const { d } = a;
  const units = d.n * d.c;
  const st = unitCoMoments(k, a.dy, a.x, d);
  // Per channel, merged over n in order.
  const ch: CoStats = {
    count: d.n * d.s, meanX: new Float64Array(d.c), meanDy: new Float64Array(d.c),
    m2X: new Float64Array(d.c), cXDy: new Float64Array(d.c),
  };
  for (let c = 0; c < d.c; c++) {
    let cnt = 0;
    let mx = 0;
    let mg = 0;
    let qx = 0;
    let cxg = 0;
    for (let i = 0; i < d.n; i++) {
      const u = i * d.c + c;
      if (cnt === 0) {
        [cnt, mx, mg, qx, cxg] = [d.s, st.meanX[u], st.meanDy[u], st.m2X[u], st.cXDy[u]];
        continue;
      }
      const tot = cnt + d.s;
      const dmx = st.meanX[u] - mx;
      const dmg = st.meanDy[u] - mg;
      const w = (cnt * d.s) / tot;
      mx += dmx * (d.s / tot);
      mg += dmg * (d.s / tot);
      qx += st.m2X[u] + dmx * dmx * w;
      cxg += st.cXDy[u] + dmx * dmg * w;
      cnt = tot;
    }
    ch.meanX[c] = mx;
    ch.meanDy[c] = mg;
    ch.m2X[c] = qx;
    ch.cXDy[c] = cxg;
  }
  const gamma = a.gamma;
  const gammaOf = gamma ? (c: number) => gamma[c] : () => 1;
  const gc = gradCoeffs(d.c);
  if (a.running) {
    // Inference: the statistics are constants, dx = gamma * rstd * dy.
    for (let c = 0; c < d.c; c++) {
      const r = 1 / Math.sqrt(a.running.variance[c] + a.eps);
      const sumXcDy = ch.cXDy[c] + ch.count * (ch.meanX[c] - a.running.mean[c]) * ch.meanDy[c];
      a.dgamma[c] = r * sumXcDy;
      a.dbeta[c] = ch.count * ch.meanDy[c];
      gc.a[c] = gammaOf(c) * r;
    }
  } else {
    const shares = groupGrads(ch, d.c, 1, gammaOf, a.rstd, a.eps, 0, gc);
    a.dgamma.set(shares.dgamma);
    a.dbeta.set(shares.dbeta);
  }
  const full = gradCoeffs(units);
  for (let i = 0; i < d.n; i++) {
    full.dySub.set(gc.dySub, i * d.c);
    full.xSub.set(gc.xSub, i * d.c);
    full.a.set(gc.a, i * d.c);
    full.b.set(gc.b, i * d.c);
    full.c.set(gc.c, i * d.c);
  }
  applyGrad(k, a.dy, a.x, a.dx, d, full);
}

/**
 * y = (x - sub) * scale + shift per (n, c) run, from float64 per-run
 * (mean, scale, shift): the mean split into hi + lo as everywhere else.
 */
export function runAffine(
  k: Kernels, x: F32, y: F32, d: Dims, mean: Float64Array, scale: Float64Array, shift: Float64Array,
): void {
  const co = affineCoeffs(d.n * d.c);
  for (let u = 0; u < d.n * d.c; u++) {
    const hi = Math.fround(mean[u]);
    co.sub[u] = hi;
    co.scale[u] = scale[u];
    co.shift[u] = shift[u] - (mean[u] - hi) * scale[u];
  }
  applyAffine(k, x, y, d, co);
}
