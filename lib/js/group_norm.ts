/**
 * Pure-TS group norm (instance norm is groups = C), both layouts, every
 * affine mode: the same op as native/ops/group_norm.h, in float64.
 */
import { AffineRows, type GroupNormBackwardDesc, type GroupNormDesc } from '../descriptors';
import { applyForward, backwardGroup, groupMoments, type Units } from './norm';
import { rstdOf, unitBase } from './stats';

type Shape = { n: number; c: number; s: number; groups: number; channelsLast: boolean };

/** Row of the gamma/beta tables sample n uses. */
function rowOf(d: { affine: AffineRows; condition?: Int32Array | null }, n: number): number {
  if (d.affine === AffineRows.PerChannel) return 0;
  if (d.affine === AffineRows.PerSample) return n;
  return d.condition![n];
}

/** The units of group g of sample n. */
function groupUnits(d: Shape, n: number, g: number, into: Units): Units {
  const cpg = d.c / d.groups;
  for (let j = 0; j < cpg; j++) into.bases[j] = unitBase(n, g * cpg + j, d.c, d.s, d.channelsLast);
  return into;
}

const unitsFor = (d: Shape): Units => ({
  bases: new Int32Array(d.c / d.groups), count: d.c / d.groups, stride: d.channelsLast ? d.c : 1, len: d.s,
});

export function groupNormForward(d: GroupNormDesc): void {
  const { c: C, groups: G } = d;
  const cpg = C / G;
  const u = unitsFor(d);
  const st = new Float64Array(2);
  for (let n = 0; n < d.n; n++) {
    const row = rowOf(d, n) * C;
    for (let g = 0; g < G; g++) {
      groupUnits(d, n, g, u);
      groupMoments(d.x, u, st);
      const mean = st[0];
      const m2 = st[1];
      const rstd = rstdOf(m2, cpg * d.s, d.eps);
      const k0 = row + g * cpg;
      applyForward(d.x, d.out, u, mean, rstd, m2 === 0, d.gamma ? (j) => d.gamma![k0 + j] : () => 1,
        d.beta ? (j) => d.beta![k0 + j] : () => 0, d.blend);
      const p = n * G + g;
      if (d.mean) d.mean[p] = mean;
      if (d.rstd) d.rstd[p] = rstd;
    }
  }
}

export function groupNormBackward(d: GroupNormBackwardDesc): void {
  const { c: C, groups: G } = d;
  const cpg = C / G;
  const u = unitsFor(d);
  const shareG = new Float64Array(d.n * C);
  const shareB = new Float64Array(d.n * C);
  for (let n = 0; n < d.n; n++) {
    const k0 = rowOf(d, n) * C;
    for (let g = 0; g < G; g++) {
      groupUnits(d, n, g, u);
      const kg = k0 + g * cpg;
      backwardGroup(d.dy, d.x, d.dx, u, d.gamma ? (j) => d.gamma![kg + j] : () => 1,
        d.rstd ? d.rstd[n * G + g] : null, d.eps, d.blend, shareG, shareB, n * C + g * cpg);
    }
  }
  reduceRows(shareG, shareB, d, d.dgamma, d.dbeta);
}

/**
 * dgamma/dbeta (rows*C) from per-unit shares: each row sums, in sample
 * order, the shares of the samples that used it (an unused row is 0).
 */
function reduceRows(
  shareG: Float64Array, shareB: Float64Array, d: GroupNormBackwardDesc, dgamma: Float32Array, dbeta: Float32Array,
): void {
  const C = d.c;
  const accG = new Float64Array(d.rows * C);
  const accB = new Float64Array(d.rows * C);
  for (let n = 0; n < d.n; n++) {
    const r = rowOf(d, n) * C;
    for (let c = 0; c < C; c++) {
      accG[r + c] += shareG[n * C + c];
      accB[r + c] += shareB[n * C + c];
    }
  }
  dgamma.set(accG);
  dbeta.set(accB);
}
