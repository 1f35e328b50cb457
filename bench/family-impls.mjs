// The cases and rows of the normalization-family benchmark (bench/family.mjs).
//
// A case is one operation on one shape; its rows are the variants timed
// against each other in interleaved rounds: memcpy of the tensor's bytes,
// instnorm native (best ISA, 1 thread and, for large tensors, all threads),
// the JS fallback (some cases), channels-first and channels-last where the
// operation has a layout, and onnxruntime-node where it has the operator.
// Every row sees the same logical data: the NHWC tensors are transposes of
// the NCHW ones, so outputs can be compared element for element.
//
// The JS rows run the public API with the JS kernels swapped in for the
// native ones (the facade reads the backend's kernels at each call), which
// is what a user without the addon runs, in the same process and rounds.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { normals } from '../test/helpers/reference.mjs';
import { onnxRows } from './peers/onnxruntime.mjs';
import { ortBatchNormRows, ortGroupNormRows, ortLayerNormRows } from './peers/onnx-family.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');
const internal = require('../dist/internal.js');
const { active } = require('../dist/backend.js');
const { jsKernels } = require('../dist/js/index.js');

const nativeKernels = active.native ? active.kernels : null;
export const nativeIsas = () => internal.nativeIsas();
export const backendInfo = () => lib.backend();
export const setThreads = (n) => lib.setThreads(n);
/** Leaves the library as it was loaded (native kernels if it has them). */
export function restoreBackend() {
  if (nativeKernels) active.kernels = nativeKernels;
}

const EPS = 1e-5;
const prod = (a) => a.reduce((p, q) => p * q, 1);

/** [N, C, S...] channels-first -> [N, S..., C] channels-last (same logical tensor). */
export function toNHWC(a, N, C, S) {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) {
    const o = n * C * S;
    for (let c = 0; c < C; c++) {
      const src = o + c * S;
      for (let s = 0; s < S; s++) out[o + s * C + c] = a[src + s];
    }
  }
  return out;
}
export function toNCHW(a, N, C, S) {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) {
    const o = n * C * S;
    for (let s = 0; s < S; s++) {
      const src = o + s * C;
      for (let c = 0; c < C; c++) out[o + c * S + s] = a[src + c];
    }
  }
  return out;
}
const nhwcShape = (shape) => [shape[0], ...shape.slice(2), shape[1]];

/** The tensors every row of a case shares. */
function tensors(shape, withNHWC) {
  const numel = prod(shape);
  const N = shape[0], C = shape[1], S = numel / (N * C);
  const t = { shape, numel, N, C, S, x: normals(numel, 1, 3), dy: normals(numel, 2), gamma: normals(C, 3, 1), beta: normals(C, 4) };
  if (withNHWC) {
    t.nhwc = nhwcShape(shape);
    t.xT = toNHWC(t.x, N, C, S);
    t.dyT = toNHWC(t.dy, N, C, S);
  }
  return t;
}

/**
 * Wraps a row's closures: select() puts the row's backend, ISA and thread
 * count in place before it is timed or checked.
 */
function instRow({ label, backend, isa, threads, layout, variant }, make) {
  const select = () => {
    if (backend === 'js') {
      active.kernels = jsKernels;
      return;
    }
    active.kernels = nativeKernels;
    if (!internal.setIsa(isa)) throw new Error(`ISA ${isa} unavailable`);
    lib.setThreads(threads);
  };
  select();
  const { forward, backward } = make();
  const name = [variant, layout, backend === 'js' ? 'js fallback' : `native ${isa} ${threads}t`].filter(Boolean).join(' ');
  return {
    name, label, group: 'instnorm', backend, isa: backend === 'js' ? null : isa, threads: backend === 'js' ? 1 : threads,
    layout: layout ?? null, variant: variant ?? null, select, forward, backward,
  };
}

function memcpyRow(t) {
  const dst = new Float32Array(t.numel);
  const copy = () => dst.set(t.x);
  return { name: 'memcpy (Float32Array#set)', group: 'baseline', threads: 1, layout: null, variant: null, forward: copy, backward: copy };
}

/**
 * The instnorm rows of a case: for each variant and layout, native best ISA
 * on 1 thread, on all cores if the tensor is large, and the JS fallback
 * for the layouts listed in `jsLayouts`.
 */
function instRows(t, env, { variants = [null], layouts, jsLayouts, make }) {
  const rows = [];
  const large = t.numel >= env.largeNumel && env.cores > 1;
  for (const variant of variants) {
    for (const layout of layouts) {
      const mk = () => make(layout, variant);
      if (env.best) {
        rows.push(instRow({ backend: 'native', isa: env.best, threads: 1, layout, variant }, mk));
        if (large) rows.push(instRow({ backend: 'native', isa: env.best, threads: env.cores, layout, variant }, mk));
      }
      if (jsLayouts.includes(layout)) rows.push(instRow({ backend: 'js', layout, variant }, mk));
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------
// Per-operation row builders. make(layout, variant) returns { forward, backward }:
// forward returns the output (in the row's layout), backward returns dx.

/** Instance norm (per-channel affine) or group norm, NCHW vs NHWC. */
function normMaker(t, groups) {
  return (layout) => {
    const nhwc = layout === 'NHWC';
    const x = nhwc ? t.xT : t.x, dy = nhwc ? t.dyT : t.dy, shape = nhwc ? t.nhwc : t.shape;
    const units = t.N * (groups ?? t.C);
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(units), rstd = new Float32Array(units);
    const dgamma = new Float32Array(t.C), dbeta = new Float32Array(t.C);
    const o = { gamma: t.gamma, beta: t.beta, layout };
    if (groups == null) {
      lib.instanceNorm(x, shape, { ...o, mean, rstd });
      return {
        forward: () => lib.instanceNorm(x, shape, { ...o, out: y }),
        backward: () => lib.instanceNormBackward(dy, x, shape, { gamma: t.gamma, layout, mean, rstd, dx, dgamma, dbeta }).dx,
      };
    }
    lib.groupNorm(x, shape, groups, { ...o, mean, rstd });
    return {
      forward: () => lib.groupNorm(x, shape, groups, { ...o, out: y }),
      backward: () => lib.groupNormBackward(dy, x, shape, groups, { gamma: t.gamma, layout, mean, rstd, dx, dgamma, dbeta }).dx,
    };
  };
}

function layerNormMaker(t, rank) {
  const L = prod(t.shape.slice(t.shape.length - rank));
  const R = t.numel / L;
  t.lnGamma = normals(L, 5, 1);
  t.lnBeta = normals(L, 6);
  return () => {
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(R), rstd = new Float32Array(R), dgamma = new Float32Array(L), dbeta = new Float32Array(L);
    const o = { gamma: t.lnGamma, beta: t.lnBeta };
    lib.layerNorm(t.x, t.shape, rank, { ...o, mean, rstd });
    return {
      forward: () => lib.layerNorm(t.x, t.shape, rank, { ...o, out: y }),
      backward: () => lib.layerNormBackward(t.dy, t.x, t.shape, rank, { gamma: t.lnGamma, mean, rstd, dx, dgamma, dbeta }).dx,
    };
  };
}

function batchNormMaker(t) {
  // Running statistics near the batch's (x ~ N(3, 1)), as after some training.
  t.runningMean = normals(t.C, 7, 3, 0.1);
  t.runningVar = normals(t.C, 8, 1, 0.05).map(Math.abs);
  return (layout, variant) => {
    const nhwc = layout === 'NHWC';
    const x = nhwc ? t.xT : t.x, dy = nhwc ? t.dyT : t.dy, shape = nhwc ? t.nhwc : t.shape;
    const training = variant === 'train';
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(t.C), rstd = new Float32Array(t.C), dgamma = new Float32Array(t.C), dbeta = new Float32Array(t.C);
    // Each row updates its own copy of the running statistics (training).
    const runningMean = t.runningMean.slice(), runningVar = t.runningVar.slice();
    const o = { gamma: t.gamma, beta: t.beta, layout, training, runningMean, runningVar };
    lib.batchNorm(x, shape, { ...o, mean, rstd });
    return {
      forward: () => lib.batchNorm(x, shape, { ...o, out: y }),
      backward: () => lib.batchNormBackward(dy, x, shape, { ...o, mean, rstd, dx, dgamma, dbeta }).dx,
    };
  };
}

/** Instance norm with per-sample gamma/beta (length N*C). */
function perSampleMaker(t) {
  t.psGamma = normals(t.N * t.C, 9, 1);
  t.psBeta = normals(t.N * t.C, 10);
  return (layout) => {
    const nhwc = layout === 'NHWC';
    const x = nhwc ? t.xT : t.x, dy = nhwc ? t.dyT : t.dy, shape = nhwc ? t.nhwc : t.shape;
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(t.N * t.C), rstd = new Float32Array(t.N * t.C);
    const dgamma = new Float32Array(t.N * t.C), dbeta = new Float32Array(t.N * t.C);
    const o = { gamma: t.psGamma, beta: t.psBeta, layout };
    lib.instanceNorm(x, shape, { ...o, mean, rstd });
    return {
      forward: () => lib.instanceNorm(x, shape, { ...o, out: y }),
      backward: () => lib.instanceNormBackward(dy, x, shape, { ...o, mean, rstd, dx, dgamma, dbeta }).dx,
    };
  };
}

export const CIN_K = 8;
function conditionalMaker(t) {
  t.condition = Int32Array.from({ length: t.N }, (_, n) => (n * 5 + 3) % CIN_K);
  t.gammaTable = normals(CIN_K * t.C, 11, 1);
  t.betaTable = normals(CIN_K * t.C, 12);
  return (layout) => {
    const nhwc = layout === 'NHWC';
    const x = nhwc ? t.xT : t.x, dy = nhwc ? t.dyT : t.dy, shape = nhwc ? t.nhwc : t.shape;
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(t.N * t.C), rstd = new Float32Array(t.N * t.C);
    const dgammaTable = new Float32Array(CIN_K * t.C), dbetaTable = new Float32Array(CIN_K * t.C);
    const args = [shape, t.condition, t.gammaTable, t.betaTable];
    lib.conditionalInstanceNorm(x, ...args, { layout, mean, rstd });
    return {
      forward: () => lib.conditionalInstanceNorm(x, ...args, { layout, out: y }),
      backward: () => lib.conditionalInstanceNormBackward(dy, x, ...args, { layout, mean, rstd, dx, dgammaTable, dbetaTable }).dx,
    };
  };
}

export const ADAIN_ALPHA = 0.8;
/** AdaIN with a style batch of 1 (broadcast over the content batch), same spatial size. */
function adaINMaker(t) {
  const sShape = [1, ...t.shape.slice(1)];
  t.style = normals(prod(sShape), 13, -1, 2);
  t.styleT = toNHWC(t.style, 1, t.C, t.S);
  return (layout) => {
    const nhwc = layout === 'NHWC';
    const x = nhwc ? t.xT : t.x, dy = nhwc ? t.dyT : t.dy, shape = nhwc ? t.nhwc : t.shape;
    const style = nhwc ? t.styleT : t.style, styleShape = nhwc ? nhwcShape(sShape) : sShape;
    const y = new Float32Array(t.numel), dcontent = new Float32Array(t.numel), dstyle = new Float32Array(style.length);
    const o = { layout, alpha: ADAIN_ALPHA };
    return {
      forward: () => lib.adaIN(x, shape, style, styleShape, { ...o, out: y }),
      backward: () => lib.adaINBackward(dy, x, shape, style, styleShape, { ...o, dcontent, dstyle }).dcontent,
    };
  };
}

/** moments (forward only): per (n, c) and per c; the check compares the means. */
function momentsMaker(t) {
  return (layout, over) => {
    const nhwc = layout === 'NHWC';
    const x = nhwc ? t.xT : t.x, shape = nhwc ? t.nhwc : t.shape;
    return { forward: () => lib.moments(x, shape, { over, layout }).mean, backward: null };
  };
}

// ---------------------------------------------------------------------------
// The cases.

const LAYOUTS = ['NCHW', 'NHWC'];
const shapesFile = JSON.parse(fs.readFileSync(new URL('./shapes.json', import.meta.url), 'utf8')).shapes;

/**
 * All cases, in run order. `quick` marks the one or two per operation that
 * --quick runs; `js` says which layouts get a JS-fallback row.
 */
export function caseList() {
  const cases = [];
  const add = (op, shape, spec) => cases.push({ op, shape, id: `${op} ${shape.join('x')}${spec.suffix ?? ''}`, ...spec });
  for (const [name, quick, js] of [
    ['style_res_128x64x64', false, true], ['cyclegan_64x256x256', true, false], ['train_8x128x64x64', false, true],
    ['many_small_32x256x8x8', true, true], ['nnunet3d_2x32x64x64x64', false, false],
  ]) {
    add('in', shapesFile[name], { shapeName: name, quick, js: js ? LAYOUTS : [], layouts: LAYOUTS, build: (t) => normMaker(t, null) });
  }
  for (const [shape, quick, js] of [[[1, 256, 64, 64], true, true], [[8, 128, 64, 64], false, false], [[2, 64, 32, 32, 32], false, false]]) {
    add('gn', shape, { suffix: ' G32', quick, js: js ? LAYOUTS : [], layouts: LAYOUTS, groups: 32, build: (t) => normMaker(t, 32), ort: 'groupNorm' });
  }
  for (const [shape, rank, quick, js] of [[[8, 512, 768], 1, true, true], [[32, 128, 1024], 1, false, false], [[8, 64, 32, 32], 3, false, true]]) {
    add('ln', shape, { suffix: ` rank${rank}`, quick, js: js ? [null] : [], layouts: [null], rank, build: (t) => layerNormMaker(t, rank), ort: 'layerNorm', nhwc: false });
  }
  for (const [shape, quick, js] of [[[8, 128, 64, 64], false, true], [[32, 256, 8, 8], true, true]]) {
    add('bn', shape, { quick, js: js ? ['NCHW'] : [], layouts: LAYOUTS, variants: ['train', 'infer'], build: batchNormMaker, ort: 'batchNorm' });
  }
  for (const [op, build] of [['ps', perSampleMaker], ['cin', conditionalMaker], ['adain', adaINMaker]]) {
    for (const [shape, quick, js] of [[[8, 128, 64, 64], false, false], [[1, 512, 32, 32], true, true]]) {
      add(op, shape, { quick, js: js ? ['NCHW'] : [], layouts: LAYOUTS, build });
    }
  }
  for (const [shape, quick] of [[[8, 128, 64, 64], true]]) {
    add('moments', shape, { quick, js: ['NCHW'], layouts: LAYOUTS, variants: ['instance', 'batch'], build: momentsMaker, forwardOnly: true });
  }
  return cases;
}

export const OP_NAMES = {
  in: 'instance norm (per-channel affine)',
  gn: 'group norm (32 groups)',
  ln: 'layer norm',
  bn: 'batch norm',
  ps: 'instance norm, per-sample affine (gamma/beta N*C)',
  cin: `conditional instance norm (K=${CIN_K})`,
  adain: `AdaIN (style batch 1, alpha ${ADAIN_ALPHA})`,
  moments: 'moments (forward only)',
};

/** Builds the rows of one case (allocates its buffers; call dispose() after). */
export async function buildCase(c, env) {
  const t = tensors(c.shape, c.layouts.includes('NHWC'));
  const make = c.build(t);
  const rows = [memcpyRow(t)];
  rows.push(...instRows(t, env, { variants: c.variants, layouts: c.layouts, jsLayouts: env.noJs ? [] : c.js, make }));
  const notes = [];
  if (!env.noPeers && c.op === 'in') {
    const inp = { shape: t.shape, x: t.x, gamma: t.gamma, beta: t.beta, C: t.C };
    const r = await onnxRows(inp, [1]);
    if (r.skipped) notes.push(r.skipped);
    for (const row of r.rows ?? []) rows.push({ ...row, layout: 'NCHW', variant: null, name: `NCHW ${row.name}` });
  }
  if (!env.noPeers && c.ort) {
    let r;
    if (c.ort === 'layerNorm') r = await ortLayerNormRows(t.x, t.shape, c.rank, t.lnGamma, t.lnBeta, EPS);
    if (c.ort === 'groupNorm') r = await ortGroupNormRows(t.x, t.shape, c.groups, t.gamma, t.beta, EPS);
    if (c.ort === 'batchNorm') r = await ortBatchNormRows(t.x, t.shape, t.gamma, t.beta, t.runningMean, t.runningVar, EPS);
    if (r.skipped) notes.push(r.skipped);
    rows.push(...(r.rows ?? []));
  }
  restoreBackend();
  const bytes = t.numel * 4;
  return {
    rows, notes, bytes, numel: t.numel,
    /** Output of a row in NCHW order (NHWC outputs transposed back), for comparisons. */
    canonical: (row, out) => (row.layout === 'NHWC' && out.length === t.numel ? toNCHW(out, t.N, t.C, t.S) : out),
    dispose: () => rows.forEach((r) => r.dispose?.()),
  };
}
