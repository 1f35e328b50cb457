/**
 * Gradient checks. For a float64 scalar loss L = sum(w * y) with random w,
 * central finite differences of the float64 REFERENCE forward validate the
 * reference backward; the library's backward (on this project's backend) is
 * then compared with the reference backward on the same float32 inputs.
 * (Finite differences of the float32 library itself would be too noisy to
 * say anything at 1e-5.) Each operation's suite lists its cases.
 */
import { describe, expect, it } from 'vitest';
import { randn64, fromLayout, nhwcShape, toLayout } from './data.mjs';
import { dot, finiteDifferences, maxAbs, relErrScaled } from './metrics.mjs';
import type { Layout } from './op-checks';

export type Arrs = Record<string, Float64Array>;
export type Grads32 = Record<string, Float32Array>;

export interface GradCase {
  name: string;
  /** Inputs (float64) that the loss is differentiated with respect to, plus constants. */
  inputs: () => Arrs;
  /** Names of the differentiable inputs. */
  wrt: string[];
  /** Number of output elements. */
  outputs: number;
  forward: (a: Arrs) => Float64Array;
  backward: (w: Float32Array | Float64Array, a: Arrs) => Arrs;
  /** The library's gradients (NCHW, keyed as wrt) for float32 inputs. */
  lib: (w: Float32Array, a: Record<string, Float32Array>, layout: Layout) => Grads32;
  layouts: Layout[];
}

/** eps of every case: keeps the loss smooth at the finite-difference step. */
export const EPS = 1e-3;

/** The reference's gradients (and their term scales) under the names of the inputs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function rename(g: any, names: Record<string, string>): Arrs {
  const out: Record<string, unknown> = { scales: {} };
  for (const [to, from] of Object.entries(names)) {
    out[to] = g[from];
    (out.scales as Record<string, number>)[to] = g.scales?.[from] ?? 0;
  }
  return out as Arrs;
}

export const f32 = (a: Float64Array) => Float32Array.from(a);

/** NCHW arrays to the library's layout and back, for the arrays of a given shape. */
export const io = (shape: number[], layout: Layout) => ({
  to: (x: Float32Array) => toLayout(x, shape, layout).x,
  from: (y: Float32Array) => fromLayout(y, shape, layout),
  shape: layout === 'NHWC' ? nhwcShape(shape) : shape,
  opt: layout === 'NHWC' ? { layout } : {},
});

/** The two checks of every case, under `title`. */
export function describeGradChecks(title: string, cases: GradCase[]) {
  describe(title, () => {
    describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      it('the float64 reference backward matches central finite differences', () => {
        const a = c.inputs();
        const w = randn64(c.outputs, 99);
        const grads = c.backward(w, a);
        for (const k of c.wrt) {
          const fd = finiteDifferences(a[k], () => dot(w, c.forward(a)));
          expect(grads[k].length, k).toBe(fd.length);
          for (let i = 0; i < fd.length; i++) {
            expect(Math.abs(fd[i] - grads[k][i]), `d${k}[${i}]: fd ${fd[i]} vs ${grads[k][i]}`).toBeLessThan(1e-6 * (1 + Math.abs(grads[k][i])));
          }
        }
      });

      it.each(c.layouts)('the library backward matches the reference backward (layout %s)', (layout) => {
        const a64 = c.inputs();
        const a32: Record<string, Float32Array> = {};
        for (const k of Object.keys(a64)) a32[k] = f32(a64[k]);
        const w = f32(randn64(c.outputs, 98));
        const ref = c.backward(w, a32 as unknown as Arrs);
        const got = c.lib(w, a32, layout);
        for (const k of c.wrt) {
          expect(got[k].length, k).toBe(ref[k].length);
          const scale = (ref as { scales?: Record<string, number> }).scales?.[k] ?? 0;
          if (maxAbs(ref[k]) === 0 && scale === 0) expect(maxAbs(got[k]), k).toBe(0);
          else expect(relErrScaled(got[k], ref[k], scale), `d${k}`).toBeLessThanOrEqual(1e-5);
        }
      });
    });
  });
}
