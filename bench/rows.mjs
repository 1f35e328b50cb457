// The rows of a case, timed against each other in interleaved rounds:
// memcpy of the tensor's bytes (the floor), a plain-JS instance norm as the
// fallback's yardstick (instance suite), instnorm native (best ISA on 1
// thread and on all cores, each lower ISA on 1 thread in the instance
// suite), the JS fallback (internal.useBackend('js'): the public API as a
// user without the addon runs it), and the peers (onnxruntime-node, TF.js).
// select() puts a row's backend, ISA and thread count in place before it is
// timed or checked.
import { createRequire } from 'node:module';
import { onnxRows } from './peers/onnxruntime.mjs';
import { ortBatchNormRows, ortGroupNormRows, ortLayerNormRows, ortRmsNormRows } from './peers/onnx-family.mjs';
import { tfjsRows } from './peers/tfjs.mjs';
import { EPS } from './cases.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');
const internal = require('../dist/internal.js');

export const nativeIsas = () => internal.nativeIsas();
export const backendInfo = () => lib.backend();
/** Leaves the library as it was loaded (native if it has the addon), on all cores. */
export function restoreBackend(cores) {
  internal.useBackend('native');
  if (cores && internal.nativeIsas().length) lib.setThreads(cores);
}

export function memcpyRow(t) {
  const dst = new Float32Array(t.numel);
  const copy = () => dst.set(t.x);
  return { name: 'memcpy (Float32Array#set)', group: 'baseline', threads: 1, layout: null, variant: null, forward: copy, backward: copy };
}

/**
 * The fastest plain-JS instance norm we could write: one pass for sum and
 * sum of squares (E[x^2] - E[x]^2, in float64), one pass to apply. It is
 * the yardstick for the fallback's speed (the fallback does an extra,
 * centred pass to stay accurate), not an implementation to use.
 */
export function plainJsRow(t) {
  const { x, dy, gamma, beta, N, C, S: M } = t;
  const y = new Float32Array(t.numel);
  const dx = new Float32Array(t.numel);
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
  return { name: 'plain JS loop (yardstick)', group: 'baseline', threads: 1, layout: null, variant: null, forward, backward };
}

/** One instnorm row: the case's make(layout, variant) on the given backend, ISA and threads. */
function instRow({ backend, isa, threads, layout, variant, prefix }, make) {
  const select = () => {
    if (backend === 'js') {
      internal.useBackend('js');
      return;
    }
    internal.useBackend('native');
    if (!internal.setIsa(isa)) throw new Error(`ISA ${isa} unavailable`);
    lib.setThreads(threads);
  };
  select();
  const { forward, backward } = make(layout, variant);
  const core = backend === 'js' ? 'js fallback' : `native ${isa} ${threads}t`;
  const name = [variant, prefix ? null : layout, prefix, core].filter(Boolean).join(' ');
  return {
    name, group: 'instnorm', backend, isa: backend === 'js' ? null : isa, threads: backend === 'js' ? 1 : threads,
    layout: layout ?? null, variant: variant ?? null, select, forward, backward,
  };
}

/**
 * The instnorm rows of a case: per variant and layout, native best ISA on 1
 * thread, on all cores (always, or for tensors of `largeNumel` elements or
 * more), each lower ISA on 1 thread (isaSweep), and the JS fallback for the
 * layouts in c.js.
 */
export function instRows(c, t, make, env, recipe) {
  const rows = [];
  const allCores = env.cores > 1 && (recipe.allCores === 'always' || t.numel >= env.largeNumel);
  for (const variant of c.variants) {
    for (const layout of c.layouts) {
      const row = (o) => instRow({ layout, variant, prefix: recipe.prefix, ...o }, make);
      if (env.best) {
        rows.push(row({ backend: 'native', isa: env.best, threads: 1 }));
        if (allCores) rows.push(row({ backend: 'native', isa: env.best, threads: env.cores }));
        if (recipe.isaSweep) for (const isa of env.isas.slice(1)) rows.push(row({ backend: 'native', isa, threads: 1 }));
      }
      if (!env.noJs && c.js.includes(layout)) rows.push(row({ backend: 'js' }));
    }
  }
  return rows;
}

/** The peers of a case: { rows, notes }. */
export async function peerRows(c, t, env, recipe) {
  const rows = [];
  const notes = [];
  const add = (r, rename) => {
    if (r.skipped) notes.push(r.skipped);
    for (const row of r.rows ?? []) {
      const backend = row.name.startsWith('tfjs') ? 'tfjs' : 'onnxruntime-node';
      rows.push({ variant: null, layout: null, backend, ...row, ...(rename ? rename(row) : {}) });
    }
  };
  if (env.noPeers) return { rows, notes };
  const inp = { shape: t.shape, numel: t.numel, x: t.x, dy: t.dy, gamma: t.gamma, beta: t.beta, C: t.C };
  if (c.op === 'in' && recipe.peers === 'instance') {
    add(await onnxRows(inp, env.cores > 1 ? [1, env.cores] : [1]));
    add(await tfjsRows(inp, ['wasm', 'cpu']));
  } else if (c.op === 'in') {
    add(await onnxRows(inp, [1]), (row) => ({ layout: 'NCHW', name: `NCHW ${row.name}` }));
  } else if (c.ort === 'layerNorm') add(await ortLayerNormRows(t.x, t.shape, c.rank, t.rowGamma, t.rowBeta, EPS));
  else if (c.ort === 'rmsNorm') add(await ortRmsNormRows(t.x, t.shape, c.rank, t.rowGamma, EPS));
  else if (c.ort === 'groupNorm') add(await ortGroupNormRows(t.x, t.shape, c.groups, t.gamma, t.beta, EPS));
  else if (c.ort === 'batchNorm') add(await ortBatchNormRows(t.x, t.shape, t.gamma, t.beta, t.runningMean, t.runningVar, EPS));
  return { rows, notes };
}
