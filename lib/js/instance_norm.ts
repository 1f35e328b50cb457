/**
 * Pure-TS instance norm: the fallback backend and the tests' parity
 * reference. Same semantics as the native kernels (biased variance, eps
 * inside the root, a constant plane with eps = 0 normalizes to beta), but
 * every sum and every intermediate is a float64; only the stored results
 * are rounded to float32.
 */
import type { AsyncKernels, Kernels } from '../kernels';

/** Mean and M2 of x[o, o+m) by the corrected two-pass algorithm, in float64. */
function planeMoments(x: Float32Array, o: number, m: number): [mean: number, m2: number] {
  const end = o + m;
  let s = 0;
  for (let i = o; i < end; i++) s += x[i];
  const pivot = s / m;
  let sd = 0;
  let sdd = 0;
  for (let i = o; i < end; i++) {
    const d = x[i] - pivot;
    sd += d;
    sdd += d * d;
  }
  const m2 = sdd - (sd * sd) / m;
  return [pivot + sd / m, m2 < 0 ? 0 : m2]; // (NaN stays NaN)
}

export const instanceNormForward: Kernels['instanceNormForward'] = (
  x, y, N, C, M, gamma, beta, eps, meanOut, rstdOut,
) => {
  for (let p = 0; p < N * C; p++) {
    const c = p % C;
    const o = p * M;
    const [mean, m2] = planeMoments(x, o, M);
    const rstd = 1 / Math.sqrt(m2 / M + eps);
    const b = beta ? beta[c] : 0;
    // A constant plane (m2 = 0) has xhat = 0 for every eps, also eps = 0.
    const scale = m2 === 0 ? 0 : (gamma ? gamma[c] : 1) * rstd;
    const end = o + M;
    for (let i = o; i < end; i++) y[i] = (x[i] - mean) * scale + b;
    if (meanOut) meanOut[p] = mean;
    if (rstdOut) rstdOut[p] = rstd;
  }
};

/**
 * Backward. Like the native kernels, it takes the saved rstd when given but
 * always recomputes the mean exactly in its reduction pass (a saved float32
 * mean has lost precision that matters at large offsets).
 */
export const instanceNormBackward: Kernels['instanceNormBackward'] = (
  dy, x, dx, dgamma, dbeta, N, C, M, gamma, meanIn, rstdIn, eps,
) => {
  for (let c = 0; c < C; c++) {
    const g = gamma ? gamma[c] : 1;
    let dg = 0;
    let db = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * M;
      const end = o + M;
      let sx = 0;
      let sg = 0;
      for (let i = o; i < end; i++) {
        sx += x[i];
        sg += dy[i];
      }
      const px = sx / M;
      const pg = sg / M;
      let sd = 0;
      let sgc = 0;
      let sdd = 0;
      let sgd = 0;
      for (let i = o; i < end; i++) {
        const d = x[i] - px;
        const e = dy[i] - pg;
        sd += d;
        sgc += e;
        sdd += d * d;
        sgd += e * d;
      }
      const mx = px + sd / M;
      const mdy = pg + sgc / M;
      const cov = sgd - (sd * sgc) / M;
      const rstd = meanIn && rstdIn ? rstdIn[n * C + c] : 1 / Math.sqrt(Math.max(0, sdd - (sd * sd) / M) / M + eps);
      let sumDyXhat = rstd * cov;
      let a = g * rstd;
      let k = (-g * rstd * rstd * sumDyXhat) / M;
      if (rstd === Infinity) {
        sumDyXhat = 0;
        a = k = 0;
      }
      for (let i = o; i < end; i++) dx[i] = a * (dy[i] - mdy) + k * (x[i] - mx);
      dg += sumDyXhat;
      db += mdy * M;
    }
    dgamma[c] = dg;
    dbeta[c] = db;
  }
};

/**
 * The JS backend has no thread to move work to: its "async" kernels run on
 * the main thread, on a later turn of the event loop (setImmediate), so a
 * caller's code after the call runs first and timers due before it fire.
 */
function deferred<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => Promise<void> {
  return (...args) => new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        fn(...args);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

export const jsKernels: Kernels & AsyncKernels = {
  instanceNormForward,
  instanceNormBackward,
  instanceNormForwardAsync: deferred(instanceNormForward),
  instanceNormBackwardAsync: deferred(instanceNormBackward),
};
