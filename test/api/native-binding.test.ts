// The native binding re-checks what the facade hands it (defence in depth):
// short buffers, bad dims, wrong types and aliasing are rejected without
// touching memory. This suite calls the addon's raw entry points, whose
// signatures are internal: it follows the binding when the binding changes.
import { describe, expect, it } from 'vitest';

const SENTINEL = 42.5;
const f32 = (n: number, fill = 1) => new Float32Array(n).fill(fill);
const x = () => Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));

describe('the native binding re-checks what it is handed', () => {
  it('rejects short buffers and bad dims without touching memory (defence in depth)', async () => {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    type Fn = (...a: unknown[]) => void;
    let addon: Record<'groupNormForward' | 'planeAffine' | 'channelsLastMoments' | 'layerNormForward', Fn> | null = null;
    try {
      addon = req('bindings')({ bindings: 'instnorm.node', module_root: process.cwd(),
        try: [['module_root', 'build-cmake', 'Release', 'bindings'], ['module_root', 'build', 'Release', 'bindings']] });
    } catch {
      addon = null;
    }
    expect(addon, 'the native addon must be built for this suite').not.toBeNull();
    const a = addon!;
    const o = f32(24, SENTINEL);
    // groupNormForward(x, y, N, G, cpg, M, gamma, beta, perSample, blend, eps, mean, rstd)
    const gn = (...args: unknown[]) => () => a.groupNormForward(...args);
    expect(gn(f32(10), o, 2, 3, 1, 4, null, null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4.5, null, null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), new Float64Array(24), 2, 3, 1, 4, null, null, false, 0, 1e-5, null, null)).toThrow(TypeError);
    expect(gn(x(), o, 2, 3, 1, 4, f32(2), null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4, f32(3), null, true, 0, 1e-5, null, null)).toThrow(RangeError); // per sample needs N*C
    expect(gn(x(), o, 2 ** 40, 2 ** 40, 1, 2 ** 40, null, null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4, null, null, false, 0, NaN, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4, null, null, false, Infinity, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 1, 3, 4, null, null, 'no', 0, 1e-5, null, null)).toThrow(TypeError);
    expect(gn(x(), o)).toThrow(TypeError);
    // planeAffine(x, y, P, L, sub, scale, shift): coefficients must cover every run.
    expect(() => a.planeAffine(x(), o, 6, 4, f32(6), f32(5), f32(6))).toThrow(RangeError);
    expect(() => a.planeAffine(x(), o, 6, 4, f32(6), f32(6), new Float64Array(6))).toThrow(TypeError);
    // channelsLastMoments(x, N, S, C, mean, m2): float64 outputs of N*C.
    expect(() => a.channelsLastMoments(x(), 2, 4, 3, new Float64Array(6), new Float32Array(6))).toThrow(TypeError);
    expect(() => a.channelsLastMoments(x(), 2, 4, 3, new Float64Array(6), new Float64Array(5))).toThrow(RangeError);
    expect(() => a.layerNormForward(x(), o, 4, 7, null, null, 1e-5, null, null)).toThrow(RangeError);
    const xs = x();
    expect(() => a.layerNormForward(xs, o, 4, 6, null, null, 1e-5, null, xs)).toThrow(RangeError); // rstd aliases x
    expect(o.every((v) => v === SENTINEL)).toBe(true);
  });

});
