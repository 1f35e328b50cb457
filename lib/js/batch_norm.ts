/**
 * Pure-TS batch norm, both layouts: a channel's group is its unit in every
 * sample. The same op as native/ops/batch_norm.h, in float64.
 */
import type { BatchNormBackwardDesc, BatchNormDesc } from '../descriptors';
import { applyForward, backwardGroup, groupMoments, type Units } from './norm';
import { unitBase } from './stats';

function channelUnits(d: { n: number; c: number; s: number; channelsLast: boolean }, c: number, into: Units): Units {
  for (let n = 0; n < d.n; n++) into.bases[n] = unitBase(n, c, d.c, d.s, d.channelsLast);
  return into;
}

const unitsFor = (d: { n: number; c: number; s: number; channelsLast: boolean }): Units => ({
  bases: new Int32Array(d.n), count: d.n, stride: d.channelsLast ? d.c : 1, len: d.s,
});

export function batchNormForward(d: BatchNormDesc): void {
  const C = d.c;
  const u = unitsFor(d);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  let count = d.n * d.s;
  const own = d.training && !d.haveStats;
  const st = new Float64Array(2);
  for (let c = 0; c < C; c++) {
    if (d.haveStats) {
      mean[c] = d.statsMean![c];
      variance[c] = d.statsVar![c];
    } else if (d.training) {
      groupMoments(d.x, channelUnits(d, c, u), st);
      mean[c] = st[0];
      variance[c] = st[1] / count;
    } else {
      mean[c] = d.runningMean![c];
      variance[c] = d.runningVar![c];
    }
  }
  if (d.haveStats) count = d.statsCount;
  for (let c = 0; c < C; c++) {
    const r = 1 / Math.sqrt(variance[c] + d.eps);
    if (d.mean) d.mean[c] = mean[c];
    if (d.rstd) d.rstd[c] = r;
    // Only the data's own statistics mean "constant data" at variance 0.
    const g = d.gamma ? d.gamma[c] : 1;
    const b = d.beta ? d.beta[c] : 0;
    applyForward(d.x, d.out, channelUnits(d, c, u), mean[c], r, own && variance[c] === 0, () => g, () => b, 0);
  }
  if (d.training && d.runningMean && d.runningVar) {
    const m = d.momentum;
    const bessel = d.unbiasedRunning ? count / (count - 1) : 1;
    for (let c = 0; c < C; c++) {
      d.runningMean[c] = (1 - m) * d.runningMean[c] + m * mean[c];
      d.runningVar[c] = (1 - m) * d.runningVar[c] + m * variance[c] * bessel;
    }
  }
}

export function batchNormBackward(d: BatchNormBackwardDesc): void {
  const C = d.c;
  const u = unitsFor(d);
  const shareG = new Float64Array(d.n);
  const shareB = new Float64Array(d.n);
  for (let c = 0; c < C; c++) {
    channelUnits(d, c, u);
    const g = d.gamma ? d.gamma[c] : 1;
    if (!d.training) {
      // The running statistics are constants: dx = gamma * rstd * dy, which
      // does not depend on x.
      const r = 1 / Math.sqrt(d.runningVar![c] + d.eps);
      const rm = d.runningMean![c];
      const a = g * r;
      let sxd = 0;
      let sd = 0;
      for (let j = 0; j < u.count; j++) {
        const end = u.bases[j] + u.len * u.stride;
        for (let i = u.bases[j]; i < end; i += u.stride) {
          const v = d.dy[i];
          sxd += (d.x[i] - rm) * v;
          sd += v;
          d.dx[i] = a * v;
        }
      }
      d.dgamma[c] = r * sxd;
      d.dbeta[c] = sd;
      continue;
    }
    backwardGroup(d.dy, d.x, d.dx, u, () => g, d.rstd ? d.rstd[c] : null, d.eps, 0, shareG, shareB, 0);
    let dg = 0;
    let db = 0;
    for (let n = 0; n < d.n; n++) {
      dg += shareG[n];
      db += shareB[n];
    }
    d.dgamma[c] = dg;
    d.dbeta[c] = db;
  }
}
