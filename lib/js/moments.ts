/** Pure-TS moments(): the same op as native/ops/moments.h, in float64. */
import { MomentsOver, type MomentsDesc } from '../descriptors';
import { mergeInto, runMoments, unitBase } from './stats';

export function momentsOp(d: MomentsDesc): void {
  const { n: N, c: C, s: S } = d;
  const stride = d.channelsLast ? C : 1;
  const st = new Float64Array(2);
  const put = (i: number, count: number, mean: number, m2: number) => {
    d.count[i] = count;
    d.mean[i] = mean;
    d.m2[i] = m2;
  };
  if (d.over === MomentsOver.Layer || (d.over === MomentsOver.Group && !d.channelsLast)) {
    // Each statistic covers a contiguous run: a sample, or a channels-first group.
    const runs = d.over === MomentsOver.Layer ? N : N * d.groups;
    const len = (N * C * S) / runs;
    for (let i = 0; i < runs; i++) {
      runMoments(d.x, i * len, 1, len, st);
      put(i, len, st[0], st[1]);
    }
    return;
  }
  const units = N * C;
  const mean = new Float64Array(units);
  const m2 = new Float64Array(units);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      runMoments(d.x, unitBase(n, c, C, S, d.channelsLast), stride, S, st);
      mean[n * C + c] = st[0];
      m2[n * C + c] = st[1];
    }
  }
  if (d.over === MomentsOver.Instance) {
    for (let u = 0; u < units; u++) put(u, S, mean[u], m2[u]);
    return;
  }
  const acc = new Float64Array(3);
  if (d.over === MomentsOver.Batch) {
    for (let c = 0; c < C; c++) {
      acc.fill(0);
      for (let n = 0; n < N; n++) mergeInto(acc, S, mean[n * C + c], m2[n * C + c]);
      put(c, acc[0], acc[1], acc[2]);
    }
    return;
  }
  const cpg = C / d.groups;
  for (let g = 0; g < N * d.groups; g++) {
    acc.fill(0);
    for (let j = g * cpg; j < (g + 1) * cpg; j++) mergeInto(acc, S, mean[j], m2[j]);
    put(g, acc[0], acc[1], acc[2]);
  }
}
