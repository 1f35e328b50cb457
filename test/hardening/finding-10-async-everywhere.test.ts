// Finding 10 of the hardening issue: only instance norm had ...Async
// variants, so a server normalizing anything else blocked its event loop.
// What must hold: every operation has one, forward and backward, both
// layouts, with the same results as the sync call and the same
// validation-at-call semantics: a bad call gives a rejected promise (never
// a throw) with the sync call's error, and nothing is written.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { normals } from '../helpers/data.mjs';
import { snapshot } from './rejection';

const N = 2, C = 4, S = 6, NUMEL = N * C * S, K = 3;
type Layout = 'NCHW' | 'NHWC';
type Args = (layout: Layout) => unknown[];

const shapeOf = (layout: Layout) => (layout === 'NHWC' ? [N, S, C] : [N, C, S]);
const x = normals(NUMEL, 100, 1, 2);
const dy = normals(NUMEL, 101);
const gamma = normals(C, 102, 1, 0.5);
const beta = normals(C, 103);
const table = normals(K * C, 104, 1, 0.5);
const condition = new Int32Array([2, 0]);
const style = normals(NUMEL, 105, -1, 3);
const rowGamma = normals(S, 106, 1, 0.5);

/** Every public operation: its arguments (fresh output buffers each time) in a layout; row ops take none. */
const OPS: Record<string, { args: Args; layouts: Layout[] }> = {
  instanceNorm: { args: (l) => [x, shapeOf(l), { layout: l, gamma, beta, mean: new Float32Array(N * C), rstd: new Float32Array(N * C) }], layouts: ['NCHW', 'NHWC'] },
  instanceNormBackward: { args: (l) => [dy, x, shapeOf(l), { layout: l, gamma }], layouts: ['NCHW', 'NHWC'] },
  groupNorm: { args: (l) => [x, shapeOf(l), 2, { layout: l, gamma, beta }], layouts: ['NCHW', 'NHWC'] },
  groupNormBackward: { args: (l) => [dy, x, shapeOf(l), 2, { layout: l, gamma }], layouts: ['NCHW', 'NHWC'] },
  conditionalInstanceNorm: { args: (l) => [x, shapeOf(l), condition, table, table, { layout: l }], layouts: ['NCHW', 'NHWC'] },
  conditionalInstanceNormBackward: { args: (l) => [dy, x, shapeOf(l), condition, table, table, { layout: l }], layouts: ['NCHW', 'NHWC'] },
  batchNorm: {
    args: (l) => [x, shapeOf(l), { layout: l, training: true, gamma, beta, runningMean: new Float32Array(C), runningVar: new Float32Array(C).fill(1) }],
    layouts: ['NCHW', 'NHWC'],
  },
  batchNormBackward: { args: (l) => [dy, x, shapeOf(l), { layout: l, training: true, gamma }], layouts: ['NCHW', 'NHWC'] },
  adaIN: { args: (l) => [x, shapeOf(l), style, shapeOf(l), { layout: l, alpha: 0.7 }], layouts: ['NCHW', 'NHWC'] },
  adaINBackward: { args: (l) => [dy, x, shapeOf(l), style, shapeOf(l), { layout: l, alpha: 0.7 }], layouts: ['NCHW', 'NHWC'] },
  moments: { args: (l) => [x, shapeOf(l), { layout: l, over: 'batch' }], layouts: ['NCHW', 'NHWC'] },
  layerNorm: { args: () => [x, [N, C, S], 1, { gamma: rowGamma, beta: rowGamma }], layouts: ['NCHW'] },
  layerNormBackward: { args: () => [dy, x, [N, C, S], 1, { gamma: rowGamma }], layouts: ['NCHW'] },
  rmsNorm: { args: () => [x, [N, C, S], 1, { gamma: rowGamma }], layouts: ['NCHW'] },
  rmsNormBackward: { args: () => [dy, x, [N, C, S], 1, { gamma: rowGamma }], layouts: ['NCHW'] },
};

/** Every typed array of a result or an argument list, flattened with a path. */
function arraysOf(v: unknown, path = ''): [string, ArrayBufferView][] {
  if (ArrayBuffer.isView(v)) return [[path, v]];
  if (Array.isArray(v)) return v.flatMap((e, i) => arraysOf(e, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, e]) => arraysOf(e, `${path}.${k}`));
  return [];
}

const bits = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

/** The call with its first array argument (x or dy) one element short. */
function shortened(args: unknown[]): unknown[] {
  const i = args.findIndex((a) => ArrayBuffer.isView(a));
  const a = args[i] as Float32Array;
  return args.map((v, j) => (j === i ? a.subarray(0, a.length - 1) : v));
}

const CASES = Object.entries(OPS).flatMap(([fn, op]) => op.layouts.map((l) => [fn, l] as const));

describe.skipIf(unavailable !== null)(`finding 10: an Async variant for every operation on ${label}`, () => {
  it.each(CASES)('finding 10: %sAsync (%s) gives the sync results, outputs included', async (fn, layout) => {
    expect(typeof F[`${fn}Async`], `${fn}Async is exported`).toBe('function');
    const syncArgs = OPS[fn].args(layout);
    const asyncArgs = OPS[fn].args(layout);
    const s = F[fn](...syncArgs);
    const p = F[`${fn}Async`](...asyncArgs);
    expect(p).toBeInstanceOf(Promise);
    const a = await p;
    const got = arraysOf([a, asyncArgs]);
    const want = arraysOf([s, syncArgs]);
    expect(got.map(([k]) => k)).toEqual(want.map(([k]) => k));
    got.forEach(([k, v], i) => expect(bits(v), `${fn}Async ${layout}: ${k}`).toEqual(bits(want[i][1])));
  });

  it.each(CASES)('finding 10: a bad %sAsync call (%s, x one element short) rejects with the sync error and writes nothing', async (fn, layout) => {
    const args = shortened(OPS[fn].args(layout));
    let syncError: Error | null = null;
    try {
      F[fn](...args);
    } catch (e) {
      syncError = e as Error;
    }
    expect(syncError).toBeInstanceOf(RangeError);
    const snap = snapshot(Object.fromEntries(arraysOf(args)));
    let p: Promise<unknown> | null = null;
    expect(() => {
      p = F[`${fn}Async`](...args);
    }, 'the Async variant does not throw').not.toThrow();
    const outcome = await p!.then(() => null, (e: unknown) => e);
    expect(outcome).toBeInstanceOf(RangeError);
    expect((outcome as Error).message.replace(`${fn}Async`, fn)).toBe(syncError!.message);
    expect(snap.changed()).toEqual([]);
  });
});
