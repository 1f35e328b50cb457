/**
 * Adaptive instance normalization (Huang & Belongie, 2017): normalize each
 * content plane, then scale by the matching style plane's standard
 * deviation and shift by its mean. One native op (native/ops/adain.cc):
 * instance norm with a per-sample affine from the style's statistics.
 */
import { type Async, type Call, Outputs, asyncOf, syncOf } from '../call';
import {
  boolean, epsilon, float32, layout, noOverlap, numberIn, optionalFloat32, optionsObject, planeShape,
  type Layout, type PlaneShape,
} from '../validate';

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

export interface AdaINGradients {
  dcontent: Float32Array;
  dstyle: Float32Array;
}

const FORWARD = new Set(['eps', 'alpha', 'unbiased', 'out', 'layout'] as const);
const BACKWARD = new Set(['eps', 'alpha', 'unbiased', 'layout', 'dcontent', 'dstyle'] as const);

interface Common {
  content: Float32Array; style: Float32Array; cs: PlaneShape; ss: PlaneShape; lay: Layout;
  eps: number; alpha: number; unbiased: boolean;
}

function common(
  fn: string, content: unknown, contentShape: unknown, style: unknown, styleShape: unknown,
  o: Partial<Record<'eps' | 'alpha' | 'unbiased' | 'layout', unknown>>,
): Common {
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

const scalars = (a: Common) => ({
  n: a.cs.n, c: a.cs.c, s: a.cs.m, styleN: a.ss.n, styleS: a.ss.m, channelsLast: a.lay === 'NHWC',
  unbiased: a.unbiased, eps: a.eps, alpha: a.alpha,
});

function forward(
  fn: string, content: Float32Array, contentShape: readonly number[], style: Float32Array,
  styleShape: readonly number[], options?: AdaINOptions,
): Call<'adaIN', Float32Array> {
  const o = optionsObject(options, fn, FORWARD);
  const a = common(fn, content, contentShape, style, styleShape, o);
  const out = optionalFloat32(o.out, 'options.out', a.cs.numel, 'the product of contentShape');
  if (out) noOverlap([out], ['options.out'], [a.content, a.style], ['content', 'style'], 1);
  const outs = new Outputs();
  const y = outs.f32(out, a.cs.numel, 'out');
  return { op: 'adaIN', desc: { ...scalars(a), content: a.content, style: a.style, out: y }, result: y, fresh: outs.fresh };
}

function backward(
  fn: string, dy: Float32Array, content: Float32Array, contentShape: readonly number[], style: Float32Array,
  styleShape: readonly number[], options?: AdaINBackwardOptions,
): Call<'adaINBackward', AdaINGradients> {
  const o = optionsObject(options, fn, BACKWARD);
  const a = common(fn, content, contentShape, style, styleShape, o);
  const dys = float32(dy, 'dy', a.cs.numel, 'the product of contentShape');
  const dc = optionalFloat32(o.dcontent, 'options.dcontent', a.cs.numel, 'the product of contentShape');
  const ds = optionalFloat32(o.dstyle, 'options.dstyle', a.ss.numel, 'the product of styleShape');
  if (dc || ds) {
    noOverlap([dc, ds], ['options.dcontent', 'options.dstyle'], [dys, a.content, a.style], ['dy', 'content', 'style'], 2);
  }
  const outs = new Outputs();
  const r = { dcontent: outs.f32(dc, a.cs.numel, 'dcontent'), dstyle: outs.f32(ds, a.ss.numel, 'dstyle') };
  return {
    op: 'adaINBackward',
    desc: { ...scalars(a), dy: dys, content: a.content, style: a.style, dcontent: r.dcontent, dstyle: r.dstyle },
    result: r,
    fresh: outs.fresh,
  };
}

type Forward = (
  content: Float32Array, contentShape: readonly number[], style: Float32Array, styleShape: readonly number[],
  options?: AdaINOptions,
) => Float32Array;
type Backward = (
  dy: Float32Array, content: Float32Array, contentShape: readonly number[], style: Float32Array,
  styleShape: readonly number[], options?: AdaINBackwardOptions,
) => AdaINGradients;

/**
 * AdaIN: `y = alpha * (sigma_s * (c - mu_c) / sqrt(var_c + eps) + mu_s) + (1 - alpha) * c`
 * per (n, channel), with sigma_s = sqrt(var_s + eps) and mu_s from the style
 * plane (the style batch may be 1, broadcast over the content batch; its
 * spatial size may differ). Returns y.
 */
export const adaIN: Forward = syncOf('adaIN', forward);

/** Gradients of {@link adaIN} with respect to the content and the style. */
export const adaINBackward: Backward = syncOf('adaINBackward', backward);

/** {@link adaIN} off the JS thread; see instanceNormAsync. */
export const adaINAsync: Async<Forward> = asyncOf('adaINAsync', forward);

/** {@link adaINBackward} off the JS thread; see instanceNormAsync. */
export const adaINBackwardAsync: Async<Backward> = asyncOf('adaINBackwardAsync', backward);
