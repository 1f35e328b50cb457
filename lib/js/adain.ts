/**
 * Pure-TS AdaIN: the style's statistics become a per-sample affine of the
 * content's instance norm, as in native/ops/adain.cc, in float64.
 */
import { AffineRows, type AdaINBackwardDesc, type AdaINDesc } from '../descriptors';
import { groupNormBackward, groupNormForward } from './group_norm';
import { runMoments, unitBase } from './stats';

type Scalars = Omit<AdaINDesc, 'content' | 'style' | 'out'>;

/** gamma = alpha k sigma_s, beta = alpha mu_s per content unit (see native/ops/adain.cc). */
function styleAffine(a: Scalars, style: Float32Array) {
  const su = a.styleN * a.c;
  const mean = new Float64Array(su);
  const sigma = new Float64Array(su);
  const div = a.unbiased ? a.styleS - 1 : a.styleS;
  const st = new Float64Array(2);
  for (let n = 0; n < a.styleN; n++) {
    for (let c = 0; c < a.c; c++) {
      runMoments(style, unitBase(n, c, a.c, a.styleS, a.channelsLast), a.channelsLast ? a.c : 1, a.styleS, st);
      mean[n * a.c + c] = st[0];
      sigma[n * a.c + c] = Math.sqrt(st[1] / div + a.eps);
    }
  }
  const m = a.s;
  const k = a.unbiased ? Math.sqrt((m - 1) / m) : 1;
  const contentEps = a.unbiased ? a.eps * ((m - 1) / m) : a.eps; // (no overflow near the float64 max)
  const cu = a.n * a.c;
  // Float64 per-sample tables: the JS group norm reads them as numbers.
  const gamma = new Float64Array(cu);
  const beta = new Float64Array(cu);
  for (let u = 0; u < cu; u++) {
    const s = a.styleN === 1 ? u % a.c : u;
    gamma[u] = a.alpha * k * sigma[s];
    beta[u] = a.alpha * mean[s];
  }
  return { mean, sigma, div, k, contentEps, gamma, beta };
}

const groupShape = (a: Scalars) => ({
  n: a.n, c: a.c, s: a.s, groups: a.c, channelsLast: a.channelsLast, affine: AffineRows.PerSample, rows: a.n,
  blend: 1 - a.alpha, condition: null, mean: null, rstd: null,
});

export function adaINForward(d: AdaINDesc): void {
  const sa = styleAffine(d, d.style);
  groupNormForward({
    ...groupShape(d), eps: sa.contentEps, x: d.content, out: d.out,
    gamma: sa.gamma as unknown as Float32Array, beta: sa.beta as unknown as Float32Array,
  });
}

export function adaINBackward(d: AdaINBackwardDesc): void {
  const sa = styleAffine(d, d.style);
  const cu = d.n * d.c;
  const su = d.styleN * d.c;
  const dgamma = new Float32Array(cu);
  const dbeta = new Float32Array(cu);
  groupNormBackward({
    ...groupShape(d), eps: sa.contentEps, dy: d.dy, x: d.content, dx: d.dcontent, dgamma, dbeta,
    gamma: sa.gamma as unknown as Float32Array,
  });
  // y depends on the style through sigma_s (coefficient alpha k xhat) and
  // mu_s (coefficient alpha); a broadcast style collects every sample's share.
  const dsigma = new Float64Array(su);
  const dmu = new Float64Array(su);
  for (let u = 0; u < cu; u++) {
    const s = d.styleN === 1 ? u % d.c : u;
    dsigma[s] += d.alpha * sa.k * dgamma[u];
    dmu[s] += d.alpha * dbeta[u];
  }
  // d sigma / d s_i = (s_i - mu_s) / (div sigma);  d mu / d s_i = 1 / count.
  const stride = d.channelsLast ? d.c : 1;
  for (let n = 0; n < d.styleN; n++) {
    for (let c = 0; c < d.c; c++) {
      const s = n * d.c + c;
      const scale = dsigma[s] / (sa.div * sa.sigma[s]);
      const shift = dmu[s] / d.styleS;
      const mu = sa.mean[s];
      const base = unitBase(n, c, d.c, d.styleS, d.channelsLast);
      const end = base + d.styleS * stride;
      for (let i = base; i < end; i += stride) d.dstyle[i] = (d.style[i] - mu) * scale + shift;
    }
  }
}
