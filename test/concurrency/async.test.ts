// The ...Async variants, for every operation that has them: the same
// results as the synchronous calls, validation before any work (a rejected
// promise, nothing written), resizable buffers refused, many calls in
// flight at once, and the event loop kept free while the kernels run.
import { describe, expect, it } from 'vitest';
import { F, label, lib, missing, unavailable } from '../helpers/backend-under-test';
import { firstDifference } from '../helpers/bits';
import { normals, numel } from '../helpers/data.mjs';

type Opts = Record<string, unknown>;
type Grads = Record<string, Float32Array>;

/** One operation's sync and async calls on shapes [N, C, ...rest] (rows of the last dim for row ops). */
interface AsyncOp {
  name: string;
  skip: string | null;
  params: (shape: number[]) => Opts;
  gradKeys: string[];
  fwd: (x: unknown, shape: unknown, o?: Opts) => Float32Array;
  fwdAsync: (x: unknown, shape: unknown, o?: Opts) => Promise<Float32Array>;
  bwd: (dy: unknown, x: unknown, shape: unknown, o?: Opts) => Grads;
  bwdAsync: (dy: unknown, x: unknown, shape: unknown, o?: Opts) => Promise<Grads>;
}

const OPS: AsyncOp[] = [
  {
    name: 'instanceNorm',
    skip: missing('instanceNormAsync', 'instanceNormBackwardAsync'),
    params: (shape) => ({ gamma: normals(shape[1], 3, 1), beta: normals(shape[1], 4) }),
    gradKeys: ['dx', 'dgamma', 'dbeta'],
    fwd: (x, shape, o) => F.instanceNorm(x, shape, o),
    fwdAsync: (x, shape, o) => F.instanceNormAsync(x, shape, o),
    bwd: (dy, x, shape, o) => F.instanceNormBackward(dy, x, shape, o),
    bwdAsync: (dy, x, shape, o) => F.instanceNormBackwardAsync(dy, x, shape, o),
  },
  {
    name: 'rmsNorm (normalizedRank 1)',
    skip: missing('rmsNorm', 'rmsNormBackward', 'rmsNormAsync', 'rmsNormBackwardAsync'),
    params: (shape) => ({ gamma: normals(shape[shape.length - 1], 3, 1) }),
    gradKeys: ['dx', 'dgamma'],
    fwd: (x, shape, o) => F.rmsNorm(x, shape, 1, o),
    fwdAsync: (x, shape, o) => F.rmsNormAsync(x, shape, 1, o),
    bwd: (dy, x, shape, o) => F.rmsNormBackward(dy, x, shape, 1, o),
    bwdAsync: (dy, x, shape, o) => F.rmsNormBackwardAsync(dy, x, shape, 1, o),
  },
];

/** gamma only (the backward's affine input). */
const gammaOf = (p: Opts) => ({ gamma: p.gamma });

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`async variants on ${label}`, () => {
  describe.each(OPS.map((op) => [op.name, op] as const))('%s', (_name, op) => {
    it.skipIf(!!op.skip)('give the same results as the sync calls and return the output buffers', async () => {
      const shape = [2, 4, 300];
      const x = normals(numel(shape), 1, 5);
      const dy = normals(numel(shape), 2);
      const p = op.params(shape);
      const out = new Float32Array(x.length);
      const y = await op.fwdAsync(x, shape, { ...p, out });
      expect(y).toBe(out);
      expect(firstDifference(y, op.fwd(x, shape, p))).toBe(-1);
      const g = await op.bwdAsync(dy, x, shape, gammaOf(p));
      const s = op.bwd(dy, x, shape, gammaOf(p));
      for (const k of op.gradKeys) expect(firstDifference(g[k], s[k]), k).toBe(-1);
    });

    it.skipIf(!!op.skip)('reject bad input before any work starts, writing nothing', async () => {
      const out = new Float32Array(24).fill(7);
      const p = op.fwdAsync(new Float32Array(23), [2, 3, 4], { out });
      expect(p).toBeInstanceOf(Promise);
      await expect(p).rejects.toThrow(RangeError);
      await expect(op.fwdAsync([1, 2], [1, 1, 2])).rejects.toThrow(TypeError);
      await expect(op.bwdAsync(new Float32Array(24), new Float32Array(24), [2, 3, 4], { eps: -1 }))
        .rejects.toThrow(/options.eps must be a finite number >= 0/);
      expect(out.every((v) => v === 7)).toBe(true);
    });

    it.skipIf(!!op.skip)('refuse resizable ArrayBuffers (they could shrink under the kernel)', async () => {
      const x = new Float32Array(new ArrayBuffer(24 * 4, { maxByteLength: 48 * 4 }));
      await expect(op.fwdAsync(x, [2, 3, 4])).rejects.toThrow(/x is backed by a resizable ArrayBuffer/);
      expect(op.fwd(x, [2, 3, 4]).length).toBe(24); // the sync call is fine
    });

    it.skipIf(!!op.skip)('many concurrent calls on different tensors all give the right results', async () => {
      const cases = Array.from({ length: 24 }, (_, i) => {
        const shape = [1 + (i % 3), 2 + (i % 5), 17 + 97 * i];
        const x = normals(numel(shape), 100 + i, i * 10, 1 + i);
        const dy = normals(numel(shape), 200 + i);
        return { shape, x, dy };
      });
      const results = await Promise.all(cases.map(async (c) => ({
        y: await op.fwdAsync(c.x, c.shape),
        g: await op.bwdAsync(c.dy, c.x, c.shape),
      })));
      cases.forEach((c, i) => {
        expect(firstDifference(results[i].y, op.fwd(c.x, c.shape))).toBe(-1);
        expect(firstDifference(results[i].g.dx, op.bwd(c.dy, c.x, c.shape).dx)).toBe(-1);
      });
    });

    // The JS backend has no other thread: its async calls run on the main
    // thread (deferred), so timers cannot fire during them.
    it.skipIf(!!op.skip || lib.backend().name === 'js')('the event loop keeps running while a large call is in flight', async () => {
      const shape = [1, 16, 1024, 1024]; // 64 MiB: tens of ms per pass
      const x = normals(1 << 20, 5);
      const big = new Float32Array(numel(shape));
      for (let i = 0; i < big.length; i += x.length) big.set(x, i);
      const threads = lib.getThreads();
      lib.setThreads(1);
      let ticks = 0;
      const timer = setInterval(() => { ticks++; }, 1);
      const t0 = performance.now();
      let settled = false;
      const work = (async () => {
        for (let r = 0; r < 4; r++) {
          await op.fwdAsync(big, shape, { out: big });
          await op.bwdAsync(big, big, shape, { dx: big });
        }
        settled = true;
      })();
      // While the kernels run off-thread, this thread keeps serving timers.
      await new Promise((r) => setTimeout(r, 5));
      expect(settled).toBe(false);
      await work;
      clearInterval(timer);
      const ms = performance.now() - t0;
      lib.setThreads(threads);
      expect(ms).toBeGreaterThan(20);
      // With a blocked loop, a 1 ms interval could fire at most once per call.
      expect(ticks).toBeGreaterThan(8 + ms / 20);
    });
  });
});
