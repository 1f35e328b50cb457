// The rows of the benchmark: each implementation prepares its buffers for a
// shape once, then exposes forward()/backward() closures that do only the
// work being timed.
import { createRequire } from 'node:module';
import { normals } from '../test/helpers/reference.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');
const internal = require('../dist/internal.js');
const js = require('../dist/js/instance_norm.js');

/** Inputs shared by every row for one shape. */
export function makeInputs(shape) {
  const numel = shape.reduce((a, b) => a * b, 1);
  const C = shape[1];
  const N = shape[0];
  return {
    shape, numel, N, C, M: numel / (N * C),
    x: normals(numel, 1, 3),
    dy: normals(numel, 2),
    gamma: normals(C, 3, 1),
    beta: normals(C, 4),
  };
}

/** memcpy of the tensor's bytes: the floor for a pass that reads and writes it once. */
export function memcpyRow(inp) {
  const dst = new Float32Array(inp.numel);
  const copy = () => dst.set(inp.x);
  return { name: 'memcpy (Float32Array#set)', group: 'baseline', threads: 1, forward: copy, backward: copy };
}

/** Output and saved-statistics buffers for one row, allocated once per shape. */
function outputs(inp) {
  return {
    y: new Float32Array(inp.numel), dx: new Float32Array(inp.numel),
    dgamma: new Float32Array(inp.C), dbeta: new Float32Array(inp.C),
    mean: new Float32Array(inp.N * inp.C), rstd: new Float32Array(inp.N * inp.C),
  };
}

/** The public API on the native backend with one ISA and thread count. */
export function nativeRow(inp, isa, threads) {
  const { y, dx, dgamma, dbeta, mean, rstd } = outputs(inp);
  const select = () => {
    if (!internal.setIsa(isa)) throw new Error(`ISA ${isa} unavailable`);
    lib.setThreads(threads);
  };
  select();
  lib.instanceNorm(inp.x, inp.shape, { gamma: inp.gamma, beta: inp.beta, mean, rstd });
  return {
    name: `instnorm native ${isa} ${threads}t`, group: 'instnorm', isa, threads, select,
    forward: () => lib.instanceNorm(inp.x, inp.shape, { gamma: inp.gamma, beta: inp.beta, out: y }),
    backward: () => lib.instanceNormBackward(inp.dy, inp.x, inp.shape, { gamma: inp.gamma, mean, rstd, dx, dgamma, dbeta }),
  };
}

/** The pure-TS fallback, called as the facade calls it. */
export function jsRow(inp) {
  const { y, dx, dgamma, dbeta, mean, rstd } = outputs(inp);
  js.instanceNormForward(inp.x, y, inp.N, inp.C, inp.M, inp.gamma, inp.beta, 1e-5, mean, rstd);
  return {
    name: 'instnorm js fallback', group: 'instnorm', threads: 1,
    forward: () => js.instanceNormForward(inp.x, y, inp.N, inp.C, inp.M, inp.gamma, inp.beta, 1e-5, null, null),
    backward: () => js.instanceNormBackward(inp.dy, inp.x, dx, dgamma, dbeta, inp.N, inp.C, inp.M, inp.gamma, mean, rstd, 1e-5),
  };
}

/**
 * The fastest plain-JS instance norm we could write: one pass for sum and
 * sum of squares (E[x^2] - E[x]^2, in float64), one pass to apply. It is
 * the yardstick for the fallback's speed (the fallback does an extra,
 * centred pass to stay accurate), not an implementation to use.
 */
export function plainJsRow(inp) {
  const { x, dy, gamma, beta, N, C, M } = inp;
  const y = new Float32Array(inp.numel);
  const dx = new Float32Array(inp.numel);
  const mean = new Float64Array(N * C);
  const rstd = new Float64Array(N * C);
  const forward = () => {
    for (let p = 0; p < N * C; p++) {
      const o = p * M;
      let s = 0, q = 0;
      for (let i = o; i < o + M; i++) { const v = x[i]; s += v; q += v * v; }
      const mu = s / M;
      const r = 1 / Math.sqrt(q / M - mu * mu + 1e-5);
      const a = gamma[p % C] * r, b = beta[p % C] - mu * a;
      for (let i = o; i < o + M; i++) y[i] = x[i] * a + b;
      mean[p] = mu;
      rstd[p] = r;
    }
  };
  forward();
  const backward = () => {
    for (let p = 0; p < N * C; p++) {
      const o = p * M;
      const mu = mean[p], r = rstd[p];
      let sg = 0, sgx = 0;
      for (let i = o; i < o + M; i++) { sg += dy[i]; sgx += dy[i] * x[i]; }
      const sgxhat = (sgx - mu * sg) * r;
      const a = gamma[p % C] * r, k = (-a * r * sgxhat) / M, c = -a * sg / M - k * mu;
      for (let i = o; i < o + M; i++) dx[i] = a * dy[i] + k * x[i] + c;
    }
  };
  return { name: 'plain JS loop (yardstick)', group: 'baseline', threads: 1, forward, backward };
}

export const nativeIsas = () => internal.nativeIsas();
export const backendInfo = () => lib.backend();
export const setThreads = (n) => lib.setThreads(n);
