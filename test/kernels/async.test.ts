import { describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { firstDifference } from '../helpers/bits';
import { normals, numel } from '../helpers/reference.mjs';


// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`async variants on ${label}`, () => {
  it('give the same results as the sync calls and return the output buffers', async () => {
    const shape = [2, 4, 300];
    const x = normals(numel(shape), 1, 5);
    const dy = normals(numel(shape), 2);
    const gamma = normals(4, 3, 1);
    const beta = normals(4, 4);
    const out = new Float32Array(x.length);
    const y = await lib.instanceNormAsync(x, shape, { gamma, beta, out });
    expect(y).toBe(out);
    expect(firstDifference(y, lib.instanceNorm(x, shape, { gamma, beta }))).toBe(-1);
    const g = await lib.instanceNormBackwardAsync(dy, x, shape, { gamma });
    const s = lib.instanceNormBackward(dy, x, shape, { gamma });
    expect(firstDifference(g.dx, s.dx)).toBe(-1);
    expect(firstDifference(g.dgamma, s.dgamma)).toBe(-1);
    expect(firstDifference(g.dbeta, s.dbeta)).toBe(-1);
  });

  it('reject bad input before any work starts, writing nothing', async () => {
    const out = new Float32Array(24).fill(7);
    const p = lib.instanceNormAsync(new Float32Array(23), [2, 3, 4], { out });
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toThrow(RangeError);
    await expect(lib.instanceNormAsync([1, 2] as never, [1, 1, 2])).rejects.toThrow(TypeError);
    await expect(lib.instanceNormBackwardAsync(new Float32Array(24), new Float32Array(24), [2, 3, 4], { eps: -1 }))
      .rejects.toThrow(/options.eps must be a finite number >= 0/);
    expect(out.every((v) => v === 7)).toBe(true);
  });

  it('refuse resizable ArrayBuffers (they could shrink under the kernel)', async () => {
    const x = new Float32Array(new ArrayBuffer(24 * 4, { maxByteLength: 48 * 4 }));
    await expect(lib.instanceNormAsync(x, [2, 3, 4])).rejects.toThrow(/x is backed by a resizable ArrayBuffer/);
    expect(lib.instanceNorm(x, [2, 3, 4]).length).toBe(24); // the sync call is fine
  });

  it('many concurrent calls on different tensors all give the right results', async () => {
    const cases = Array.from({ length: 24 }, (_, i) => {
      const shape = [1 + (i % 3), 2 + (i % 5), 17 + 97 * i];
      const x = normals(numel(shape), 100 + i, i * 10, 1 + i);
      const dy = normals(numel(shape), 200 + i);
      return { shape, x, dy };
    });
    const results = await Promise.all(cases.map(async (c) => ({
      y: await lib.instanceNormAsync(c.x, c.shape),
      g: await lib.instanceNormBackwardAsync(c.dy, c.x, c.shape),
    })));
    cases.forEach((c, i) => {
      expect(firstDifference(results[i].y, lib.instanceNorm(c.x, c.shape))).toBe(-1);
      expect(firstDifference(results[i].g.dx, lib.instanceNormBackward(c.dy, c.x, c.shape).dx)).toBe(-1);
    });
  });

  // The JS backend has no other thread: its async calls run on the main
  // thread (deferred), so timers cannot fire during them.
  it.skipIf(lib.backend().name === 'js')('the event loop keeps running while a large call is in flight', async () => {
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
        await lib.instanceNormAsync(big, shape, { out: big });
        await lib.instanceNormBackwardAsync(big, big, shape, { dx: big });
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
