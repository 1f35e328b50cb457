/**
 * Mergeable statistics: moments() returns (count, mean, M2) per statistic
 * in float64, and mergeMoments() combines two partial results exactly
 * (Chan et al.'s parallel formula), so statistics can be gathered across
 * worker threads, processes or machines with any transport and fed to
 * batchNorm({ stats }) (a synchronised batch norm).
 */
import { types } from 'node:util';
import { Outputs, asyncOf, syncOf, type Call } from '../call';
import { MomentsOver as Over } from '../descriptors';
import { mergeInto } from '../js/stats';
import {
  describe, float32, float64, integer, layout, optionsObject, planeShape, lengthOfArray,
} from '../validate';

export interface Moments {
  /** Elements behind each statistic. */
  count: Float64Array;
  mean: Float64Array;
  /** Sum of squared deviations from the mean: variance = m2 / count (biased) or m2 / (count - 1). */
  m2: Float64Array;
}

export type MomentsOver = 'instance' | 'batch' | 'layer' | 'group';

export interface MomentsOptions {
  /** Which axes a statistic covers. Default 'instance'. */
  over?: MomentsOver;
  /** For over: 'group'. */
  groups?: number;
  layout?: 'NCHW' | 'NHWC';
}

const OPTIONS = new Set(['over', 'groups', 'layout'] as const);
const OVER = ['instance', 'batch', 'layer', 'group'];

const OVER_CODE = { instance: Over.Instance, batch: Over.Batch, layer: Over.Layer, group: Over.Group };

function prepare(fn: string, x: Float32Array, shape: readonly number[], options?: MomentsOptions): Call<'moments', Moments> {
  const o = optionsObject(options, fn, OPTIONS);
  const over = o.over === undefined || o.over === null ? 'instance' : o.over;
  if (typeof over !== 'string') throw new TypeError(`options.over must be one of ${OVER.join(', ')}, got ${describe(over)}`);
  if (!OVER.includes(over)) throw new RangeError(`options.over must be one of ${OVER.join(', ')}, got ${describe(over)}`);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  let groups = 1;
  if (over === 'group') {
    if (o.groups === undefined || o.groups === null) throw new TypeError("moments: options.groups is required with over: 'group'");
    groups = integer(o.groups, 'options.groups', 1, s.c);
    if (s.c % groups !== 0) throw new RangeError(`options.groups must divide C = ${s.c}, got ${groups}`);
  } else if (o.groups !== undefined && o.groups !== null) {
    throw new TypeError(`moments: options.groups applies only to over: 'group' (got over: '${over}')`);
  }
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const len = over === 'instance' ? s.n * s.c : over === 'batch' ? s.c : over === 'layer' ? s.n : s.n * groups;
  const outs = new Outputs();
  const r: Moments = { count: outs.f64(len, 'count'), mean: outs.f64(len, 'mean'), m2: outs.f64(len, 'm2') };
  return {
    op: 'moments',
    desc: {
      n: s.n, c: s.c, s: s.m, channelsLast: lay === 'NHWC', over: OVER_CODE[over as MomentsOver_], groups, x: xs,
      count: r.count, mean: r.mean, m2: r.m2,
    },
    result: r,
    fresh: outs.fresh,
  };
}

type MomentsOver_ = keyof typeof OVER_CODE;

/**
 * Statistics of x ([N, C, ...spatial] or channels-last): per (n, c) for
 * 'instance' (length N*C), per c for 'batch' (C), per n for 'layer' (N),
 * per (n, group) for 'group' (N*groups).
 */
export const moments: (x: Float32Array, shape: readonly number[], options?: MomentsOptions) => Moments =
  syncOf('moments', prepare);

/** {@link moments} off the JS thread; see instanceNormAsync. */
export const momentsAsync: (x: Float32Array, shape: readonly number[], options?: MomentsOptions) => Promise<Moments> =
  asyncOf('momentsAsync', prepare);

function momentsArg(v: unknown, name: string): Moments {
  if (typeof v !== 'object' || v === null) throw new TypeError(`${name} must be a { count, mean, m2 } object, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  const count = o.count;
  const n = types.isFloat64Array(count) ? lengthOfArray(count) : -1;
  const c = float64(count, `${name}.count`, n, 'its own length');
  return { count: c, mean: float64(o.mean, `${name}.mean`, n, `${name}.count.length`), m2: float64(o.m2, `${name}.m2`, n, `${name}.count.length`) };
}

/**
 * Combines two partial results elementwise (same length): the moments of
 * the union of the data behind a and b. Exact up to float64 rounding and
 * independent of how the data was split.
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
  const x = momentsArg(a, 'a');
  const y = momentsArg(b, 'b');
  if (x.count.length !== y.count.length) {
    throw new RangeError(`mergeMoments: a and b must have the same length, got ${x.count.length} and ${y.count.length}`);
  }
  const n = x.count.length;
  const r: Moments = { count: new Float64Array(n), mean: new Float64Array(n), m2: new Float64Array(n) };
  const acc = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    acc[0] = x.count[i];
    acc[1] = x.mean[i];
    acc[2] = x.m2[i];
    mergeInto(acc, y.count[i], y.mean[i], y.m2[i]);
    [r.count[i], r.mean[i], r.m2[i]] = acc;
  }
  return r;
}
