// What the benchmark times: one case is one operation on one shape, and
// make(layout, variant) prepares its buffers once and returns the forward
// and backward closures that do only the timed work (forward returns the
// output in the row's layout, backward returns dx). Every layout sees the
// same logical data: NHWC tensors are transposes of the NCHW ones, so
// outputs can be compared element for element.
//
// Two suites: 'instance' (instance norm on the shapes of bench/shapes.json,
// with every ISA, both thread counts and the instance-norm peers: `npm run
// bench`) and 'family' (every operation, channels-first vs channels-last:
// `npm run bench:family`). `--ops` and `--shapes` select cases from either.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { nhwcShape, normals, numel, toNHWC } from '../test/helpers/data.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');

export const EPS = 1e-5;
export const CIN_K = 8;
export const ADAIN_ALPHA = 0.8;
export const LAYOUTS = ['NCHW', 'NHWC'];

export const OP_NAMES = {
  in: 'instance norm (per-channel affine)',
  gn: 'group norm (32 groups)',
  ln: 'layer norm',
  bn: 'batch norm',
  ps: 'instance norm, per-sample affine (gamma/beta N*C)',
  cin: `conditional instance norm (K=${CIN_K})`,
  adain: `AdaIN (style batch 1, alpha ${ADAIN_ALPHA})`,
  moments: 'moments (forward only)',
  rms: 'RMS norm',
};

/** Why an operation cannot be timed in this build, or null. */
export const unavailableOp = (op) => (op === 'rms' && typeof lib.rmsNorm !== 'function' ? 'lib.rmsNorm is not in this build' : null);

/** The tensors every row of a case shares. */
export function tensors(shape, withNHWC) {
  const n = numel(shape);
  const N = shape[0], C = shape[1], S = n / (N * C);
  const t = { shape, numel: n, N, C, S, x: normals(n, 1, 3), dy: normals(n, 2), gamma: normals(C, 3, 1), beta: normals(C, 4) };
  if (withNHWC) {
    t.nhwc = nhwcShape(shape);
    t.xT = toNHWC(t.x, shape);
    t.dyT = toNHWC(t.dy, shape);
  }
  return t;
}

/** The row's view of a case's tensors: channels-last ones for 'NHWC'. */
const inLayout = (t, layout) => (layout === 'NHWC' ? { x: t.xT, dy: t.dyT, shape: t.nhwc } : { x: t.x, dy: t.dy, shape: t.shape });
/** The layout option (absent for the default or for ops without layouts). */
const layoutOpt = (layout) => (layout ? { layout } : {});

// ---------------------------------------------------------------------------
// Per-operation makers: build(t) -> make(layout, variant) -> { forward, backward }.
// Options objects are built once per row, as a hot loop would: a spread in
// the call builds a new object every time, which costs V8 0.5-1 us a call.

/** Instance norm (per-channel affine) or group norm, in either layout. */
function normMaker(t, groups) {
  return (layout) => {
    const { x, dy, shape } = inLayout(t, layout);
    const units = t.N * (groups ?? t.C);
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(units), rstd = new Float32Array(units);
    const dgamma = new Float32Array(t.C), dbeta = new Float32Array(t.C);
    const o = { gamma: t.gamma, beta: t.beta, ...layoutOpt(layout) };
    const b = { gamma: t.gamma, ...layoutOpt(layout), mean, rstd, dx, dgamma, dbeta };
    if (groups == null) {
      lib.instanceNorm(x, shape, { ...o, mean, rstd });
      const fo = { ...o, out: y };
      return {
        forward: () => lib.instanceNorm(x, shape, fo),
        backward: () => lib.instanceNormBackward(dy, x, shape, b).dx,
      };
    }
    lib.groupNorm(x, shape, groups, { ...o, mean, rstd });
    const fo = { ...o, out: y };
    return {
      forward: () => lib.groupNorm(x, shape, groups, fo),
      backward: () => lib.groupNormBackward(dy, x, shape, groups, b).dx,
    };
  };
}

/** Layer norm or RMS norm over the last `rank` dims, elementwise gamma (and beta for layer norm). */
function rowMaker(t, rank, rms) {
  const L = numel(t.shape.slice(t.shape.length - rank));
  const R = t.numel / L;
  t.rowGamma = normals(L, 5, 1);
  t.rowBeta = normals(L, 6);
  return () => {
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const rstd = new Float32Array(R), dgamma = new Float32Array(L);
    if (rms) {
      lib.rmsNorm(t.x, t.shape, rank, { gamma: t.rowGamma, rstd });
      const fo = { gamma: t.rowGamma, out: y }, bo = { gamma: t.rowGamma, rstd, dx, dgamma };
      return {
        forward: () => lib.rmsNorm(t.x, t.shape, rank, fo),
        backward: () => lib.rmsNormBackward(t.dy, t.x, t.shape, rank, bo).dx,
      };
    }
    const mean = new Float32Array(R), dbeta = new Float32Array(L);
    const o = { gamma: t.rowGamma, beta: t.rowBeta };
    lib.layerNorm(t.x, t.shape, rank, { ...o, mean, rstd });
    const fo = { ...o, out: y }, bo = { gamma: t.rowGamma, mean, rstd, dx, dgamma, dbeta };
    return {
      forward: () => lib.layerNorm(t.x, t.shape, rank, fo),
      backward: () => lib.layerNormBackward(t.dy, t.x, t.shape, rank, bo).dx,
    };
  };
}

function batchNormMaker(t) {
  // Running statistics near the batch's (x ~ N(3, 1)), as after some training.
  t.runningMean = normals(t.C, 7, 3, 0.1);
  t.runningVar = normals(t.C, 8, 1, 0.05).map(Math.abs);
  return (layout, variant) => {
    const { x, dy, shape } = inLayout(t, layout);
    const training = variant === 'train';
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(t.C), rstd = new Float32Array(t.C), dgamma = new Float32Array(t.C), dbeta = new Float32Array(t.C);
    // Each row updates its own copy of the running statistics (training).
    const runningMean = t.runningMean.slice(), runningVar = t.runningVar.slice();
    const o = { gamma: t.gamma, beta: t.beta, ...layoutOpt(layout), training, runningMean, runningVar };
    lib.batchNorm(x, shape, { ...o, mean, rstd });
    const fo = { ...o, out: y }, bo = { ...o, mean, rstd, dx, dgamma, dbeta };
    return {
      forward: () => lib.batchNorm(x, shape, fo),
      backward: () => lib.batchNormBackward(dy, x, shape, bo).dx,
    };
  };
}

/** Instance norm with per-sample gamma/beta (length N*C). */
function perSampleMaker(t) {
  t.psGamma = normals(t.N * t.C, 9, 1);
  t.psBeta = normals(t.N * t.C, 10);
  return (layout) => {
    const { x, dy, shape } = inLayout(t, layout);
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(t.N * t.C), rstd = new Float32Array(t.N * t.C);
    const dgamma = new Float32Array(t.N * t.C), dbeta = new Float32Array(t.N * t.C);
    const o = { gamma: t.psGamma, beta: t.psBeta, ...layoutOpt(layout) };
    lib.instanceNorm(x, shape, { ...o, mean, rstd });
    const fo = { ...o, out: y }, bo = { ...o, mean, rstd, dx, dgamma, dbeta };
    return {
      forward: () => lib.instanceNorm(x, shape, fo),
      backward: () => lib.instanceNormBackward(dy, x, shape, bo).dx,
    };
  };
}

function conditionalMaker(t) {
  t.condition = Int32Array.from({ length: t.N }, (_, n) => (n * 5 + 3) % CIN_K);
  t.gammaTable = normals(CIN_K * t.C, 11, 1);
  t.betaTable = normals(CIN_K * t.C, 12);
  return (layout) => {
    const { x, dy, shape } = inLayout(t, layout);
    const y = new Float32Array(t.numel), dx = new Float32Array(t.numel);
    const mean = new Float32Array(t.N * t.C), rstd = new Float32Array(t.N * t.C);
    const dgammaTable = new Float32Array(CIN_K * t.C), dbetaTable = new Float32Array(CIN_K * t.C);
    const args = [shape, t.condition, t.gammaTable, t.betaTable];
    lib.conditionalInstanceNorm(x, ...args, { ...layoutOpt(layout), mean, rstd });
    const fo = { ...layoutOpt(layout), out: y }, bo = { ...layoutOpt(layout), mean, rstd, dx, dgammaTable, dbetaTable };
    const [s, cond, gt, bt] = args;
    return {
      forward: () => lib.conditionalInstanceNorm(x, s, cond, gt, bt, fo),
      backward: () => lib.conditionalInstanceNormBackward(dy, x, s, cond, gt, bt, bo).dx,
    };
  };
}

/** AdaIN with a style batch of 1 (broadcast over the content batch), same spatial size. */
function adaINMaker(t) {
  const sShape = [1, ...t.shape.slice(1)];
  t.style = normals(numel(sShape), 13, -1, 2);
  t.styleT = toNHWC(t.style, sShape);
  return (layout) => {
    const { x, dy, shape } = inLayout(t, layout);
    const nhwc = layout === 'NHWC';
    const style = nhwc ? t.styleT : t.style, styleShape = nhwc ? nhwcShape(sShape) : sShape;
    const y = new Float32Array(t.numel), dcontent = new Float32Array(t.numel), dstyle = new Float32Array(style.length);
    const o = { ...layoutOpt(layout), alpha: ADAIN_ALPHA };
    const fo = { ...o, out: y }, bo = { ...o, dcontent, dstyle };
    return {
      forward: () => lib.adaIN(x, shape, style, styleShape, fo),
      backward: () => lib.adaINBackward(dy, x, shape, style, styleShape, bo).dcontent,
    };
  };
}

/** moments (forward only): per (n, c) and per c; the check compares the means. */
function momentsMaker(t) {
  return (layout, over) => {
    const { x, shape } = inLayout(t, layout);
    const o = { over, ...layoutOpt(layout) };
    return { forward: () => lib.moments(x, shape, o).mean, backward: null };
  };
}

// ---------------------------------------------------------------------------
// The suites.

/** The named shapes of bench/shapes.json: name -> dims. */
export const SHAPES = JSON.parse(fs.readFileSync(new URL('./shapes.json', import.meta.url), 'utf8')).shapes;
const INSTANCE_QUICK = ['tiny_3x32x32', 'adain_512x32x32', 'cyclegan_64x256x256', 'big_plane_16x1024x1024'];

/**
 * A case's spec: op, shape, id, quick (in --quick runs), layouts, variants,
 * js (layouts with a JS-fallback row), build, and optional groups, rank,
 * shapeName, ort (the onnxruntime-node family peer), forwardOnly.
 */
function spec(op, shape, extra = {}) {
  const groups = extra.groups ?? 32;
  const suffix = op === 'gn' ? ` G${groups}` : op === 'ln' || op === 'rms' ? ` rank${extra.rank}` : '';
  const base = { op, shape, id: `${op} ${shape.join('x')}${suffix}`, layouts: LAYOUTS, variants: [null], js: [] };
  const byOp = {
    in: { build: (t) => normMaker(t, null) },
    gn: { groups, build: (t) => normMaker(t, groups), ort: 'groupNorm' },
    ln: { layouts: [null], build: (t) => rowMaker(t, extra.rank, false), ort: 'layerNorm' },
    rms: { layouts: [null], build: (t) => rowMaker(t, extra.rank, true), ort: 'rmsNorm' },
    bn: { variants: ['train', 'infer'], build: batchNormMaker, ort: 'batchNorm' },
    ps: { build: perSampleMaker },
    cin: { build: conditionalMaker },
    adain: { build: adaINMaker },
    moments: { variants: ['instance', 'batch'], build: momentsMaker, forwardOnly: true },
  }[op];
  if (!byOp) throw new Error(`unknown op ${op}`);
  return { ...base, ...byOp, ...extra };
}

/** Instance norm on bench/shapes.json, channels-first (the `npm run bench` suite). */
export function instanceCases() {
  return Object.entries(SHAPES).map(([name, shape]) => ({
    ...spec('in', shape, { layouts: ['NCHW'], js: ['NCHW'] }), id: name, shapeName: name, quick: INSTANCE_QUICK.includes(name),
  }));
}

/** Every operation, channels-first vs channels-last (the `npm run bench:family` suite), in run order. */
export function familyCases() {
  const cases = [];
  const js = (on, layouts) => (on ? layouts : []);
  for (const [name, quick, j] of [
    ['style_res_128x64x64', false, true], ['cyclegan_64x256x256', true, false], ['train_8x128x64x64', false, true],
    ['many_small_32x256x8x8', true, true], ['nnunet3d_2x32x64x64x64', false, false],
  ]) cases.push(spec('in', SHAPES[name], { shapeName: name, quick, js: js(j, LAYOUTS) }));
  for (const [shape, quick, j] of [[[1, 256, 64, 64], true, true], [[8, 128, 64, 64], false, false], [[2, 64, 32, 32, 32], false, false]]) {
    cases.push(spec('gn', shape, { quick, js: js(j, LAYOUTS) }));
  }
  for (const [shape, rank, quick, j] of [[[8, 512, 768], 1, true, true], [[32, 128, 1024], 1, false, false], [[8, 64, 32, 32], 3, false, true]]) {
    cases.push(spec('ln', shape, { rank, quick, js: js(j, [null]) }));
  }
  for (const [shape, quick, j] of [[[8, 128, 64, 64], false, true], [[32, 256, 8, 8], true, true]]) {
    cases.push(spec('bn', shape, { quick, js: js(j, ['NCHW']) }));
  }
  for (const op of ['ps', 'cin', 'adain']) {
    for (const [shape, quick, j] of [[[8, 128, 64, 64], false, false], [[1, 512, 32, 32], true, true]]) {
      cases.push(spec(op, shape, { quick, js: js(j, ['NCHW']) }));
    }
  }
  cases.push(spec('moments', [8, 128, 64, 64], { quick: true, js: ['NCHW'] }));
  // Transformer rows: normalized rank 1, as layer norm's.
  for (const [shape, quick, j] of [[[8, 512, 768], true, true], [[32, 128, 1024], false, false]]) {
    cases.push(spec('rms', shape, { rank: 1, quick, js: js(j, [null]) }));
  }
  return cases;
}

/**
 * A case for a shape given on the command line as dims ("8x512x768"):
 * group norm takes 32 groups (1 when C is not a multiple of 32); layer and
 * RMS norm normalize the last dim. The JS fallback runs channels-first.
 */
export function adHocCase(op, shape, suite) {
  const c = spec(op, shape, op === 'gn' ? { groups: shape[1] % 32 === 0 ? 32 : 1 } : op === 'ln' || op === 'rms' ? { rank: 1 } : {});
  const layouts = suite === 'instance' && c.layouts.includes('NCHW') ? ['NCHW'] : c.layouts;
  return { ...c, layouts, js: layouts.includes('NCHW') ? ['NCHW'] : layouts };
}
