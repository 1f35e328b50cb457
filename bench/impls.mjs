// The rows of the benchmark: each implementation prepares its buffers for a
// shape once, then exposes forward()/backward() closures that do only the
// work being timed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');
const internal = require('../dist/internal.js');
const js = require('../dist/js/instance_norm.js');

/** Deterministic N(offset, 1) data. */
export function normals(n, seed, offset = 0) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return out;
}

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
  return { name: 'memcpy (Float32Array#set)', group: 'baseline', forward: () => dst.set(inp.x), backward: () => dst.set(inp.x) };
}

/** The public API on the native backend with one ISA. */
export function nativeRow(inp, isa) {
  const y = new Float32Array(inp.numel);
  const dx = new Float32Array(inp.numel);
  const dgamma = new Float32Array(inp.C);
  const dbeta = new Float32Array(inp.C);
  const mean = new Float32Array(inp.N * inp.C);
  const rstd = new Float32Array(inp.N * inp.C);
  lib.instanceNorm(inp.x, inp.shape, { gamma: inp.gamma, beta: inp.beta, mean, rstd });
  const use = () => { if (!internal.setIsa(isa)) throw new Error(`ISA ${isa} unavailable`); };
  return {
    name: `instnorm native ${isa}`, group: 'instnorm', isa,
    forward: () => { use(); lib.instanceNorm(inp.x, inp.shape, { gamma: inp.gamma, beta: inp.beta, out: y }); },
    backward: () => { use(); lib.instanceNormBackward(inp.dy, inp.x, inp.shape, { gamma: inp.gamma, mean, rstd, dx, dgamma, dbeta }); },
  };
}

/** The pure-TS fallback, called as the facade would call it. */
export function jsRow(inp) {
  const y = new Float32Array(inp.numel);
  const dx = new Float32Array(inp.numel);
  const dgamma = new Float32Array(inp.C);
  const dbeta = new Float32Array(inp.C);
  const mean = new Float32Array(inp.N * inp.C);
  const rstd = new Float32Array(inp.N * inp.C);
  js.instanceNormForward(inp.x, y, inp.N, inp.C, inp.M, inp.gamma, inp.beta, 1e-5, mean, rstd);
  return {
    name: 'instnorm js fallback', group: 'instnorm',
    forward: () => js.instanceNormForward(inp.x, y, inp.N, inp.C, inp.M, inp.gamma, inp.beta, 1e-5, null, null),
    backward: () => js.instanceNormBackward(inp.dy, inp.x, dx, dgamma, dbeta, inp.N, inp.C, inp.M, inp.gamma, mean, rstd, 1e-5),
  };
}

export const nativeIsas = () => internal.nativeIsas();
export const backendInfo = () => lib.backend();
