/**
 * Pure-TS primitives the facade composes (lib/ops/): per-run statistics out
 * as float64 (corrected two-pass sums), per-run float32 coefficients in,
 * applied in float64 and rounded once on store.
 *
 * Plane layout: P contiguous runs of L floats (run p at p*L).
 * Channels-last layout: [N, S, C], run (n, c) is x[(n*S + s)*C + c], s < S,
 * with its statistics and coefficients at index n*C + c.
 */
import { runMoments } from './stats';

type F32 = Float32Array;
type F64 = Float64Array;

export function planeMoments(x: F32, P: number, L: number, mean: F64, m2: F64): void {
  for (let p = 0; p < P; p++) runMoments(x, p * L, L, mean, m2, p);
}

/** Means of x and dy, M2 of x and sum((x - mean_x)(dy - mean_dy)) per run. */
export function planeCoMoments(
  dy: F32, x: F32, P: number, L: number, meanX: F64, meanDy: F64, m2X: F64, cXDy: F64,
): void {
  for (let p = 0; p < P; p++) {
    const o = p * L;
    const end = o + L;
    let sx = 0;
    let sg = 0;
    for (let i = o; i < end; i++) {
      sx += x[i];
      sg += dy[i];
    }
    const px = sx / L;
    const pg = sg / L;
    let sd = 0;
    let se = 0;
    let sdd = 0;
    let sed = 0;
    for (let i = o; i < end; i++) {
      const d = x[i] - px;
      const e = dy[i] - pg;
      sd += d;
      se += e;
      sdd += d * d;
      sed += e * d;
    }
    const v = sdd - (sd * sd) / L;
    meanX[p] = px + sd / L;
    meanDy[p] = pg + se / L;
    m2X[p] = v < 0 ? 0 : v; // (NaN stays NaN)
    cXDy[p] = sed - (sd * se) / L;
  }
}

/** y = (x - sub[p]) * scale[p] + shift[p] on run p. y may be x. */
export function planeAffine(x: F32, y: F32, P: number, L: number, sub: F32, scale: F32, shift: F32): void {
  for (let p = 0; p < P; p++) {
    const o = p * L;
    const end = o + L;
    const m = sub[p];
    const s = scale[p];
    const t = shift[p];
    for (let i = o; i < end; i++) y[i] = (x[i] - m) * s + t;
  }
}

/** dx = a[p] (dy - dySub[p]) + b[p] (x - xSub[p]) + c[p] on run p. dx may be dy or x. */
export function planeBackwardApply(
  dy: F32, x: F32, dx: F32, P: number, L: number, dySub: F32, xSub: F32, a: F32, b: F32, c: F32,
): void {
  for (let p = 0; p < P; p++) {
    const o = p * L;
    const end = o + L;
    const gs = dySub[p];
    const xs = xSub[p];
    const ap = a[p];
    const bp = b[p];
    const cp = c[p];
    for (let i = o; i < end; i++) dx[i] = ap * (dy[i] - gs) + bp * (x[i] - xs) + cp;
  }
}

/** Channels-last [N, S, C]: mean and M2 per (n, c) over S, at index n*C + c. */
export function channelsLastMoments(x: F32, N: number, S: number, C: number, mean: F64, m2: F64): void {
  const piv = new Float64Array(C);
  const sd = new Float64Array(C);
  const sdd = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const base = n * S * C;
    piv.fill(0);
    sd.fill(0);
    sdd.fill(0);
    for (let s = 0, o = base; s < S; s++, o += C) {
      for (let c = 0; c < C; c++) piv[c] += x[o + c];
    }
    for (let c = 0; c < C; c++) piv[c] /= S;
    for (let s = 0, o = base; s < S; s++, o += C) {
      for (let c = 0; c < C; c++) {
        const d = x[o + c] - piv[c];
        sd[c] += d;
        sdd[c] += d * d;
      }
    }
    const k0 = n * C;
    for (let c = 0; c < C; c++) {
      const v = sdd[c] - (sd[c] * sd[c]) / S;
      mean[k0 + c] = piv[c] + sd[c] / S;
      m2[k0 + c] = v < 0 ? 0 : v;
    }
  }
}

/** Channels-last joint statistics of (x, dy) per (n, c), as planeCoMoments. */
export function channelsLastCoMoments(
  dy: F32, x: F32, N: number, S: number, C: number, meanX: F64, meanDy: F64, m2X: F64, cXDy: F64,
): void {
  const px = new Float64Array(C);
  const pg = new Float64Array(C);
  const sd = new Float64Array(C);
  const se = new Float64Array(C);
  const sdd = new Float64Array(C);
  const sed = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const base = n * S * C;
    px.fill(0);
    pg.fill(0);
    sd.fill(0);
    se.fill(0);
    sdd.fill(0);
    sed.fill(0);
    for (let s = 0, o = base; s < S; s++, o += C) {
      for (let c = 0; c < C; c++) {
        px[c] += x[o + c];
        pg[c] += dy[o + c];
      }
    }
    for (let c = 0; c < C; c++) {
      px[c] /= S;
      pg[c] /= S;
    }
    for (let s = 0, o = base; s < S; s++, o += C) {
      for (let c = 0; c < C; c++) {
        const d = x[o + c] - px[c];
        const e = dy[o + c] - pg[c];
        sd[c] += d;
        se[c] += e;
        sdd[c] += d * d;
        sed[c] += e * d;
      }
    }
    const k0 = n * C;
    for (let c = 0; c < C; c++) {
      const v = sdd[c] - (sd[c] * sd[c]) / S;
      meanX[k0 + c] = px[c] + sd[c] / S;
      meanDy[k0 + c] = pg[c] + se[c] / S;
      m2X[k0 + c] = v < 0 ? 0 : v;
      cXDy[k0 + c] = sed[c] - (sd[c] * se[c]) / S;
    }
  }
}

/** y = (x - sub[k]) * scale[k] + shift[k], k = n*C + c. y may be x. */
export function channelsLastAffine(
  x: F32, y: F32, N: number, S: number, C: number, sub: F32, scale: F32, shift: F32,
): void {
  for (let n = 0; n < N; n++) {
    const k0 = n * C;
    for (let s = 0, o = n * S * C; s < S; s++, o += C) {
      for (let c = 0; c < C; c++) {
        const k = k0 + c;
        y[o + c] = (x[o + c] - sub[k]) * scale[k] + shift[k];
      }
    }
  }
}

/** dx = a[k] (dy - dySub[k]) + b[k] (x - xSub[k]) + c[k], k = n*C + c. dx may be dy or x. */
export function channelsLastBackwardApply(
  dy: F32, x: F32, dx: F32, N: number, S: number, C: number,
  dySub: F32, xSub: F32, a: F32, b: F32, c: F32,
): void {
  for (let n = 0; n < N; n++) {
    const k0 = n * C;
    for (let s = 0, o = n * S * C; s < S; s++, o += C) {
      for (let j = 0; j < C; j++) {
        const k = k0 + j;
        const i = o + j;
        dx[i] = a[k] * (dy[i] - dySub[k]) + b[k] * (x[i] - xSub[k]) + c[k];
      }
    }
  }
}
