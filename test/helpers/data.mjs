/**
 * Test data: a deterministic PRNG, the data kinds the parity grids use, and
 * the channels-first <-> channels-last conversions that let every layout be
 * compared with the channels-first reference (reference.mjs).
 */
import { dims } from './reference.mjs';

/** @typedef {Float32Array | Float64Array} Arr */

/** @param {readonly number[]} shape */
export const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/** Deterministic PRNG (mulberry32) and standard normals (Box-Muller). @param {number} seed */
export function rng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()),
  };
}

/** Float32Array of offset + scale * N(0, 1). @returns {Float32Array} */
export function normals(n, seed, offset = 0, scale = 1) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * r.normal();
  return out;
}

/** Float64Array of offset + scale * N(0, 1) (for finite differences). */
export function randn64(n, seed, offset = 0, scale = 1) {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => offset + scale * r.normal());
}

/**
 * Test data for `shape` (NCHW; for row ops, [1, rows, rowLength]) of one of
 * the kinds the parity grids use: 'normal' N(0,1); 'offset' 1e4 + N(0,1);
 * 'tiny' 1 + N(0,1e-3); 'tiny values' 1e-20 * N(0,1) (squares below
 * float32's normal range); 'constant planes' N(0,1) with channel 1 constant
 * (2.5) in every sample and plane (0, 0) constant (-7); 'mixed' planes of
 * widely different offsets and scales (N(o_p, s_p), o_p up to +-1e3, s_p
 * from 1e-3 to 1e2).
 * @param {string} kind @param {readonly number[]} shape @param {number} seed @returns {Float32Array}
 */
export function makeData(kind, shape, seed) {
  const { N, C, M } = dims(shape);
  const n = N * C * M;
  const r = rng(seed);
  const x = new Float32Array(n);
  if (kind === 'offset') for (let i = 0; i < n; i++) x[i] = 1e4 + r.normal();
  else if (kind === 'tiny') for (let i = 0; i < n; i++) x[i] = 1 + 1e-3 * r.normal();
  else if (kind === 'tiny values') for (let i = 0; i < n; i++) x[i] = 1e-20 * r.normal();
  else if (kind === 'mixed') {
    for (let p = 0; p < N * C; p++) {
      const o = (r.uniform() * 2 - 1) * 1e3;
      const s = 10 ** (r.uniform() * 5 - 3);
      for (let i = 0; i < M; i++) x[p * M + i] = o + s * r.normal();
    }
  } else for (let i = 0; i < n; i++) x[i] = r.normal();
  if (kind === 'constant planes') {
    if (C >= 2) for (let b = 0; b < N; b++) x.fill(2.5, (b * C + 1) * M, (b * C + 2) * M);
    x.fill(-7, 0, M);
  }
  return x;
}

/** [N, C, ...spatial] -> [N, ...spatial, C]. @param {readonly number[]} shape */
export const nhwcShape = (shape) => [shape[0], ...shape.slice(2), shape[1]];

/** Channels-first data of `shape` (NCHW) rearranged channels-last. @template {Arr} T @param {T} x @param {readonly number[]} shape @returns {T} */
export function toNHWC(x, shape) {
  const { N, C, M } = dims(shape);
  // @ts-ignore same constructor
  const out = new x.constructor(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < M; i++) {
    out[(n * M + i) * C + c] = x[(n * C + c) * M + i];
  }
  return out;
}

/** Channels-last data rearranged channels-first; `shape` is the NCHW shape. @template {Arr} T @param {T} x @param {readonly number[]} shape @returns {T} */
export function toNCHW(x, shape) {
  const { N, C, M } = dims(shape);
  // @ts-ignore same constructor
  const out = new x.constructor(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < M; i++) {
    out[(n * C + c) * M + i] = x[(n * M + i) * C + c];
  }
  return out;
}

/** NCHW data and shape as handed to the library in `layout`. @template {Arr} T @param {T} x @param {readonly number[]} shape @param {'NCHW' | 'NHWC'} layout */
export function toLayout(x, shape, layout) {
  return layout === 'NHWC' ? { x: toNHWC(x, shape), shape: nhwcShape(shape) } : { x, shape: [...shape] };
}

/** A library result in `layout` back to NCHW (`shape` is the NCHW shape). @template {Arr} T @param {T} y @param {readonly number[]} shape @param {'NCHW' | 'NHWC'} layout */
export function fromLayout(y, shape, layout) {
  return layout === 'NHWC' ? toNCHW(y, shape) : y;
}
