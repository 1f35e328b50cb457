/**
 * Pure-TS instance norm: the fallback backend and the tests' parity
 * reference. Same semantics as the native kernels (biased variance, eps
 * inside the root, a constant plane with eps = 0 normalizes to beta), but
 * every sum and every intermediate is a float64; only the stored results
 * are rounded to float32.
 */
import type { Kernels } from '../kernels';

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
  return [pivot + sd / m, m2 > 0 ? m2 : 0];
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
    // rstd is infinite only for a constant plane with eps = 0: xhat := 0.
    const scale = rstd === Infinity ? 0 : (gamma ? gamma[c] : 1) * rstd;
    const end = o + M;
    for (let i = o; i < end; i++) y[i] = (x[i] - mean) * scale + b;
    if (meanOut) meanOut[p] = mean;
    if (rstdOut) rstdOut[p] = rstd;
  }
};

export const instanceNormBackward: Kernels['instanceNormBackward'] = (
  dy, x, dx, dgamma, dbeta, N, C, M, gamma, meanIn, rstdIn, eps,
) => {
  for (let c = 0; c < C; c++) {
    const g = gamma ? gamma[c] : 1;
    let dg = 0;
    let db = 0;
    for (let n = 0; n < N; n++) {
      const p = n * C + c;
      const o = p * M;
      const end = o + M;
      let mean: number;
      let rstd: number;
      if (meanIn && rstdIn) {
        mean = meanIn[p];
        rstd = rstdIn[p];
      } else {
        const [mu, m2] = planeMoments(x, o, M);
        mean = mu;
        rstd = 1 / Math.sqrt(m2 / M + eps);
      }
      let sd = 0;
      let sdy = 0;
      let sdyd = 0;
      for (let i = o; i < end; i++) {
        const d = x[i] - mean;
        const gi = dy[i];
        sd += d;
        sdy += gi;
        sdyd += gi * d;
      }
      // A saved mean is a float32; sum(x - mean)/M restores what it lost.
      const lo = sd / M;
      const mu = mean + lo;
      let sumDyXhat = rstd * (sdyd - lo * sdy);
      let a = g * rstd;
      let k = (-g * rstd * rstd * sumDyXhat) / M;
      const mdy = sdy / M;
      if (rstd === Infinity) {
        sumDyXhat = 0;
        a = k = 0;
      }
      for (let i = o; i < end; i++) dx[i] = a * (dy[i] - mdy) + k * (x[i] - mu);
      dg += sumDyXhat;
      db += sdy;
    }
    dgamma[c] = dg;
    dbeta[c] = db;
  }
};

export const jsKernels: Kernels = { instanceNormForward, instanceNormBackward };
