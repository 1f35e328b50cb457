/**
 * Adaptive instance normalization (Huang & Belongie, 2017): normalize each
 * content plane, then scale by the matching style plane's standard
 * deviation and shift by its mean. It is instance norm with a per-sample
 * affine taken from the style's statistics, so it runs on the same fused
 * kernels (alpha blending included).
 */
import { active } from './backend';
import { groupBackward, groupForward, runAffine, unitMoments, type Dims } from './ops/compose';
import {
  boolean, epsilon, float32, layout, noOverlap, numberIn, optionalFloat32, optionsObject, planeShape,
  type Layout, type PlaneShape,
} from './validate';

export interface AdaINOptions {
  /** Added to both variances inside the square roots. Default 1e-5. */
  eps?: number;
  /** Blend with the content: y = alpha * adain + (1 - alpha) * content. Default 1, in [0, 1]. */
  alpha?: number;
  /**
   * Content and style variances unbiased (divide by count - 1), as the
   * widely used PyTorch AdaIN code (torch.var) does. Default false: biased
   * variances, as instance norm uses.
   */
  unbiased?: boolean;
  out?: Float32Array;
  /** Both content and style use this layout. */
  layout?: Layout;
}

export interface AdaINBackwardOptions {
  eps?: number;
  alpha?: number;
  unbiased?: boolean;
  layout?: Layout;
  /** Output buffer for dcontent. */
  dcontent?: Float32Array;
  /** Output buffer for dstyle. */
  dstyle?: Float32Array;
}

const FORWARD = new Set(['eps', 'alpha', 'unbiased', 'out', 'layout'] as const);
const BACKWARD = new Set(['eps', 'alpha', 'unbiased', 'layout', 'dcontent', 'dstyle'] as const);

interface Call {
  content: Float32Array; style: Float32Array; cs: PlaneShape; ss: PlaneShape; lay: Layout;
  eps: number; alpha: number; unbiased: boolean;
}

function common(
  fn: string, content: unknown, contentShape: unknown, style: unknown, styleShape: unknown,
  o: Partial<Record<'eps' | 'alpha' | 'unbiased' | 'layout', unknown>>,
): Call {
  const lay = layout(o.layout);
  const cs = planeShape(contentShape, 'contentShape', lay);
  const ss = planeShape(styleShape, 'styleShape', lay);
  if (ss.c !== cs.c) throw new RangeError(`${fn}: styleShape must have C = ${cs.c} channels like the content, got ${ss.c}`);
  if (ss.n !== 1 && ss.n !== cs.n) {
    throw new RangeError(`${fn}: styleShape's batch must be 1 (broadcast) or the content's N = ${cs.n}, got ${ss.n}`);
  }
  const eps = epsilon(o.eps);
  const alpha = numberIn(o.alpha, 'options.alpha', 0, 1, 1);
  const unbiased = boolean(o.unbiased, 'options.unbiased', false);
  if (unbiased && (ss.m < 2 || cs.m < 2)) {
    throw new RangeError(
      `${fn}: options.unbiased needs at least 2 elements per plane, got ${Math.min(ss.m, cs.m)} (${ss.m < 2 ? 'style' : 'content'})`,
    );
  }
  const c = float32(content, 'content', cs.numel, 'the product of contentShape');
  const s = float32(style, 'style', ss.numel, 'the product of styleShape');
  return { content: c, style: s, cs, ss, lay, eps, alpha, unbiased };
}

const dims = (s: PlaneShape, lay: Layout): Dims => ({ n: s.n, c: s.c, s: s.m, layout: lay });

/** The style statistics and the per-sample affine they give the content. */
function styleAffine(a: Call) {
  const st = unitMoments(active.kernels, a.style, dims(a.ss, a.lay));
  const units = a.ss.n * a.ss.c;
  const sigma = new Float64Array(units);
  const div = a.unbiased ? a.ss.m - 1 : a.ss.m;
  for (let u = 0; u < units; u++) sigma[u] = Math.sqrt(st.m2[u] / div + a.eps);
  // With unbiased variances the content is normalized by
  // sqrt(m2/(M-1) + eps) = sqrt(M/(M-1)) sqrt(m2/M + eps (M-1)/M): instance
  // norm with eps scaled and the output scaled by k = sqrt((M-1)/M).
  const m = a.cs.m;
  const k = a.unbiased ? Math.sqrt((m - 1) / m) : 1;
  const contentEps = a.unbiased ? (a.eps * (m - 1)) / m : a.eps;
  const nc = a.cs.n * a.cs.c;
  const gamma = new Float32Array(nc);
  const beta = new Float32Array(nc);
  for (let u = 0; u < nc; u++) {
    const su = a.ss.n === 1 ? u % a.cs.c : u;
    gamma[u] = a.alpha * k * sigma[su];
    beta[u] = a.alpha * st.mean[su];
  }
  return { mean: st.mean, sigma, div, gamma, beta, k, contentEps };
}

/**
 * AdaIN: `y = alpha * (sigma_s * (c - mu_c) / sqrt(var_c + eps) + mu_s) + (1 - alpha) * c`
 * per (n, channel), with sigma_s = sqrt(var_s + eps) and mu_s from the style
 * plane (the style batch may be 1, broadcast over the content batch; its
 * spatial size may differ). Returns y.
 */
export function adaIN(
  content: Float32Array, contentShape: readonly number[], style: Float32Array, styleShape: readonly number[],
  options?: AdaINOptions,
): Float32Array {
  const o = optionsObject(options, 'adaIN', FORWARD);
  const a = common('adaIN', content, contentShape, style, styleShape, o);
  const out = optionalFloat32(o.out, 'options.out', a.cs.numel, 'the product of contentShape');
  if (out) noOverlap([out], ['options.out'], [a.content, a.style], ['content', 'style'], 1);
  const y = out ?? new Float32Array(a.cs.numel);
  const sa = styleAffine(a);
  groupForward(active.kernels, {
    x: a.content, y, d: dims(a.cs, a.lay), groups: a.cs.c, gamma: sa.gamma, beta: sa.beta, perSample: true,
    blend: 1 - a.alpha, eps: sa.contentEps, mean: null, rstd: null,
  });
  return y;
}

/** Gradients of {@link adaIN} with respect to the content and the style. */
export function adaINBackward(
  dy: Float32Array, content: Float32Array, contentShape: readonly number[], style: Float32Array,
  styleShape: readonly number[], options?: AdaINBackwardOptions,
): { dcontent: Float32Array; dstyle: Float32Array } {
  const o = optionsObject(options, 'adaINBackward', BACKWARD);
  const a = common('adaINBackward', content, contentShape, style, styleShape, o);
  const dys = float32(dy, 'dy', a.cs.numel, 'the product of contentShape');
  const dc = optionalFloat32(o.dcontent, 'options.dcontent', a.cs.numel, 'the product of contentShape');
  const ds = optionalFloat32(o.dstyle, 'options.dstyle', a.ss.numel, 'the product of styleShape');
  if (dc || ds) {
    noOverlap([dc, ds], ['options.dcontent', 'options.dstyle'], [dys, a.content, a.style], ['dy', 'content', 'style'], 2);
  }
  const sa = styleAffine(a);
  const nc = a.cs.n * a.cs.c;
  const dgamma = new Float32Array(nc);
  const dbeta = new Float32Array(nc);
  const dcontent = dc ?? new Float32Array(a.cs.numel);
  groupBackward(active.kernels, {
    dy: dys, x: a.content, dx: dcontent, dgamma, dbeta, d: dims(a.cs, a.lay), groups: a.cs.c, gamma: sa.gamma,
    perSample: true, blend: 1 - a.alpha, mean: null, rstd: null, eps: sa.contentEps,
  });
  // y depends on the style through sigma_s (coefficient alpha * xhat) and
  // mu_s (coefficient alpha); a broadcast style collects every sample's share.
  const units = a.ss.n * a.ss.c;
  const dsigma = new Float64Array(units);
  const dmu = new Float64Array(units);
  for (let u = 0; u < nc; u++) {
    const su = a.ss.n === 1 ? u % a.cs.c : u;
    dsigma[su] += a.alpha * sa.k * dgamma[u];
    dmu[su] += a.alpha * dbeta[u];
  }
  // d sigma / d s_i = (s_i - mu_s) / (div * sigma);  d mu / d s_i = 1 / count.
  const scale = new Float64Array(units);
  const shift = new Float64Array(units);
  for (let u = 0; u < units; u++) {
    scale[u] = dsigma[u] / (sa.div * sa.sigma[u]);
    shift[u] = dmu[u] / a.ss.m;
  }
  const dstyle = ds ?? new Float32Array(a.ss.numel);
  runAffine(active.kernels, a.style, dstyle, dims(a.ss, a.lay), sa.mean, scale, shift);
  return { dcontent, dstyle };
}
