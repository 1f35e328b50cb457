// The native binding re-checks what the facade hands it (defence in depth):
// short buffers, bad dims, wrong types, values that do not fit together and
// aliasing are rejected before anything runs, writing nothing. This suite
// calls the addon's raw interface (run(op, ...fields), the field order from
// ops()), which is internal: it follows the binding when the binding changes.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const internal = require('../../dist/internal.js') as typeof import('../../dist/internal');
const addon = internal.nativeAddon();

const SENTINEL = 42.5;
const f32 = (n: number, fill = 1) => new Float32Array(n).fill(fill);
const x = () => Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));

/** Calls op with the descriptor's fields in the addon's order. */
function call(op: string, desc: Record<string, unknown>): () => void {
  const ops = addon!.ops();
  const id = ops.findIndex((o) => o.name === op);
  expect(id, `op ${op}`).toBeGreaterThanOrEqual(0);
  return () => addon!.run(id, ...ops[id].fields.map((f) => desc[f]));
}

// A valid channels-first group norm of [2, 3, 4] writing `out`.
const gn = (o: Float32Array, over: Record<string, unknown> = {}) => call('groupNorm', {
  n: 2, c: 3, s: 4, groups: 3, channelsLast: false, affine: 0, rows: 1, blend: 0, eps: 1e-5,
  x: x(), out: o, gamma: null, beta: null, condition: null, mean: null, rstd: null, ...over,
});

describe.skipIf(addon === null)('the native binding re-checks what it is handed', () => {
  it('a valid raw call works (the harness itself is right)', () => {
    const o = f32(24, SENTINEL);
    gn(o)();
    expect(o.some((v) => v === SENTINEL)).toBe(false);
  });

  it('rejects short buffers, bad dims and bad values without touching memory (defence in depth)', () => {
    const o = f32(24, SENTINEL);
    expect(gn(o, { x: f32(10) })).toThrow(RangeError);
    expect(gn(o, { s: 4.5 })).toThrow(RangeError);
    expect(gn(new Float64Array(24) as never)).toThrow(TypeError);
    expect(gn(o, { gamma: f32(2) })).toThrow(RangeError);
    expect(gn(o, { affine: 1, rows: 2, gamma: f32(3) })).toThrow(RangeError); // per sample needs N*C
    expect(gn(o, { affine: 1, rows: 1 })).toThrow(RangeError); // per sample means rows = N
    expect(gn(o, { n: 2 ** 40, c: 2 ** 40, s: 2 ** 40, groups: 1 })).toThrow(RangeError);
    expect(gn(o, { eps: NaN })).toThrow(RangeError);
    expect(gn(o, { eps: -1 })).toThrow(RangeError);
    expect(gn(o, { blend: Infinity })).toThrow(RangeError);
    expect(gn(o, { channelsLast: 'no' })).toThrow(TypeError);
    expect(gn(o, { groups: 2 })).toThrow(RangeError); // does not divide c
    expect(gn(o, { affine: 2, rows: 2, gamma: f32(6), condition: null })).toThrow(TypeError); // table without condition
    expect(gn(o, { affine: 2, rows: 2, gamma: f32(6), condition: Int32Array.of(0, 2) })).toThrow(RangeError); // row 2 of 2
    expect(() => addon!.run(0)).toThrow(TypeError); // fields missing
    expect(() => addon!.run(9999)).toThrow(TypeError); // no such op
    // Float64 outputs of moments(): type and length.
    const m = (over: Record<string, unknown>) => call('moments', {
      n: 2, c: 3, s: 4, channelsLast: true, over: 0, groups: 1, x: x(),
      count: new Float64Array(6), mean: new Float64Array(6), m2: new Float64Array(6), ...over,
    });
    expect(m({ m2: new Float32Array(6) })).toThrow(TypeError);
    expect(m({ m2: new Float64Array(5) })).toThrow(RangeError);
    const ln = (over: Record<string, unknown>) => call('layerNorm', {
      rows: 4, len: 6, eps: 1e-5, x: x(), out: o, gamma: null, beta: null, mean: null, rstd: null, ...over,
    });
    expect(ln({ len: 7 })).toThrow(RangeError);
    const xs = x();
    expect(ln({ x: xs, rstd: xs.subarray(0, 4) })).toThrow(RangeError); // rstd aliases x
    expect(o.every((v) => v === SENTINEL)).toBe(true);
  });

  it('rejects outputs over the same memory as another array through a second SharedArrayBuffer object', () => {
    const sab = new SharedArrayBuffer(24 * 4);
    const xs = new Float32Array(sab);
    xs.set(x());
    const alias = new Float32Array(structuredClone(sab)); // same memory, another object
    const rstd = f32(6, SENTINEL);
    expect(gn(rstd, { x: xs, out: alias.subarray(0, 24), rstd })).not.toThrow(); // out may be exactly x
    expect(gn(f32(24), { x: xs, rstd: alias.subarray(2, 8) })).toThrow(/rstd must not share memory with x/);
  });
});
