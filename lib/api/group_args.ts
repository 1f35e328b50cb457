/**
 * Argument checks shared by instance norm and group norm (the same op with
 * groups = C): they turn a public call into a groupNorm or
 * groupNormBackward descriptor, validating everything first.
 */
import type { Call } from '../call';
import { Outputs } from '../call';
import { AffineRows } from '../descriptors';
import {
  affineParam, epsilon, float32, integer, layout, lengthOfArray, noOverlap, optionalFloat32, optionsObject,
  planeShape, type Layout, savedTogether,
} from '../validate';
import { types } from 'node:util';

export type { Layout };

export interface InstanceNormOptions {
  /** Scale per channel (length C) or per sample (length N*C, index n*C + c). Absent: 1. */
  gamma?: Float32Array;
  /** Shift, same length rules as gamma. Absent: 0. */
  beta?: Float32Array;
  /** Added to the variance inside the square root. Default 1e-5; finite, >= 0. */
  eps?: number;
  /** Output buffer, length numel. May be `x` itself (in place). */
  out?: Float32Array;
  /** Filled with the per-(n, c) mean (per (n, group) for group norm). */
  mean?: Float32Array;
  /** Filled with the per-(n, c) 1/sqrt(var + eps) (per (n, group) for group norm). */
  rstd?: Float32Array;
  /** 'NCHW' (channels-first, default) or 'NHWC' (channels-last), for any spatial rank. */
  layout?: Layout;
}

export interface InstanceNormBackwardOptions {
  /** The forward's gamma (length C or N*C). Absent: 1. */
  gamma?: Float32Array;
  /** Accepted so that one options object can serve both passes; unused. */
  beta?: Float32Array;
  /** Used only when the statistics are recomputed (rstd absent). Default 1e-5. */
  eps?: number;
  /** The forward's saved mean (both or neither of mean and rstd). */
  mean?: Float32Array;
  /** The forward's saved 1/sqrt(var + eps). */
  rstd?: Float32Array;
  /** Output buffer for dx, length numel. May be `dy` or `x` itself. */
  dx?: Float32Array;
  /** Output buffer for dgamma: length C, or N*C in per-sample mode. */
  dgamma?: Float32Array;
  /** Output buffer for dbeta: length C, or N*C in per-sample mode. */
  dbeta?: Float32Array;
  layout?: Layout;
}

export interface NormGradients {
  dx: Float32Array;
  /** Summed over the batch (length C), or per sample (length N*C) when gamma was per sample. */
  dgamma: Float32Array;
  dbeta: Float32Array;
}

const FORWARD_OPTIONS = new Set(['gamma', 'beta', 'eps', 'out', 'mean', 'rstd', 'layout'] as const);
const BACKWARD_OPTIONS = new Set(['gamma', 'beta', 'eps', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta', 'layout'] as const);

/** `groups` for group norm: an integer in [1, C] dividing C. */
function groupCount(v: unknown, c: number): number {
  const g = integer(v, 'groups', 1, c);
  if (c % g !== 0) throw new RangeError(`groups must divide C = ${c}, got ${g}`);
  return g;
}

/** A forward call; `instance`: groups = C (instance norm, groupsArg unused). */
export function forwardCall(
  fn: string, x: unknown, shape: unknown, groupsArg: unknown, options: unknown, instance: boolean,
): Call<'groupNorm', Float32Array> {
  const o = optionsObject(options, fn, FORWARD_OPTIONS);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const groups = instance ? s.c : groupCount(groupsArg, s.c);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const g = affineParam(o.gamma, 'options.gamma', s.n, s.c);
  const b = affineParam(o.beta, 'options.beta', s.n, s.c);
  if (g.a && b.a && g.perSample !== b.perSample && s.n > 1) {
    throw new RangeError('options.gamma and options.beta must both be per channel (length C) or both per sample (length N*C)');
  }
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const statLen = s.n * groups;
  const what = instance ? 'N*C' : 'N*groups';
  const mean = optionalFloat32(o.mean, 'options.mean', statLen, what);
  const rstd = optionalFloat32(o.rstd, 'options.rstd', statLen, what);
  if (out || mean || rstd) {
    noOverlap([out, mean, rstd], ['options.out', 'options.mean', 'options.rstd'],
      [xs, g.a, b.a], ['x', 'options.gamma', 'options.beta'], 1);
  }
  const perSample = (g.a ? g.perSample : b.perSample) && s.n > 1;
  const outs = new Outputs();
  const y = outs.f32(out, s.numel, 'out');
  return {
    op: 'groupNorm',
    desc: {
      n: s.n, c: s.c, s: s.m, groups, channelsLast: lay === 'NHWC',
      affine: perSample ? AffineRows.PerSample : AffineRows.PerChannel, rows: perSample ? s.n : 1, blend: 0, eps,
      x: xs, out: y, gamma: g.a, beta: b.a, condition: null, mean, rstd,
    },
    result: y,
    fresh: outs.fresh,
  };
}

/** A backward call; `instance` as for forwardCall. */
export function backwardCall(
  fn: string, dy: unknown, x: unknown, shape: unknown, groupsArg: unknown, options: unknown, instance: boolean,
): Call<'groupNormBackward', NormGradients> {
  const o = optionsObject(options, fn, BACKWARD_OPTIONS);
  const lay = layout(o.layout);
  const s = planeShape(shape, 'shape', lay);
  const groups = instance ? s.c : groupCount(groupsArg, s.c);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const g = affineParam(o.gamma, 'options.gamma', s.n, s.c);
  affineParam(o.beta, 'options.beta', s.n, s.c);
  const eps = epsilon(o.eps);
  const statLen = s.n * groups;
  const what = instance ? 'N*C' : 'N*groups';
  const mean = optionalFloat32(o.mean, 'options.mean', statLen, what);
  const rstd = optionalFloat32(o.rstd, 'options.rstd', statLen, what);
  savedTogether(fn, mean, rstd);
  // Per-sample gradients when gamma is per sample, or (no gamma) when the
  // caller's dgamma/dbeta buffers have length N*C.
  let perSample = g.a ? g.perSample : false;
  if (!g.a) {
    for (const v of [o.dgamma, o.dbeta]) {
      if (types.isFloat32Array(v) && lengthOfArray(v) === s.n * s.c && s.n > 1) perSample = true;
    }
  }
  perSample = perSample && s.n > 1;
  const affLen = perSample ? s.n * s.c : s.c;
  const affWhat = perSample ? 'N*C (per-sample gamma)' : 'C';
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgamma = optionalFloat32(o.dgamma, 'options.dgamma', affLen, affWhat);
  const dbeta = optionalFloat32(o.dbeta, 'options.dbeta', affLen, affWhat);
  if (dx || dgamma || dbeta) {
    noOverlap([dx, dgamma, dbeta], ['options.dx', 'options.dgamma', 'options.dbeta'],
      [dys, xs, g.a, mean, rstd], ['dy', 'x', 'options.gamma', 'options.mean', 'options.rstd'], 2);
  }
  const outs = new Outputs();
  const r = {
    dx: outs.f32(dx, s.numel, 'dx'),
    dgamma: outs.f32(dgamma, affLen, 'dgamma'),
    dbeta: outs.f32(dbeta, affLen, 'dbeta'),
  };
  return {
    op: 'groupNormBackward',
    desc: {
      n: s.n, c: s.c, s: s.m, groups, channelsLast: lay === 'NHWC',
      affine: perSample ? AffineRows.PerSample : AffineRows.PerChannel, rows: perSample ? s.n : 1, blend: 0, eps,
      dy: dys, x: xs, dx: r.dx, dgamma: r.dgamma, dbeta: r.dbeta, gamma: g.a, condition: null, mean, rstd,
    },
    result: r,
    fresh: outs.fresh,
  };
}
