/**
 * The contract both backends implement: the native addon (native/binding.cc)
 * and the pure-TS fallback (lib/js/). Arguments arrive here already
 * validated by the facade (lengths, overlap, ranges); the kernels trust them.
 *
 * Two kinds of kernel:
 * - fused operations (group norm, which includes instance norm, and layer
 *   norm): statistics, coefficients and output in one call, so each plane is
 *   read again while it is still in cache;
 * - primitives that the facade composes (lib/ops/) where statistics must be
 *   combined across planes first (batch norm, channels-last, AdaIN's style,
 *   moments): per-run statistics out as float64, per-run coefficients in.
 */
type F32 = Float32Array;
type F64 = Float64Array;

export interface Kernels {
  /**
   * Channels-first group norm: x viewed as [N, G, cpg, M] (C = G*cpg).
   * Statistics per (n, g) over cpg*M elements (mean, rstd out: length N*G).
   * y = gamma[k] * xhat + beta[k] + blend * x, with k = (perSample ? n*C : 0) + c.
   * Instance norm is G = C, cpg = 1. A constant group has xhat = 0.
   */
  groupNormForward(
    x: F32, y: F32, N: number, G: number, cpg: number, M: number,
    gamma: F32 | null, beta: F32 | null, perSample: boolean, blend: number, eps: number,
    mean: F32 | null, rstd: F32 | null,
  ): void;
  /**
   * Gradients of groupNormForward. dgamma/dbeta: length perSample ? N*C : C.
   * Uses the saved rstd when given (mean is recomputed exactly).
   */
  groupNormBackward(
    dy: F32, x: F32, dx: F32, dgamma: F32, dbeta: F32,
    N: number, G: number, cpg: number, M: number,
    gamma: F32 | null, perSample: boolean, blend: number,
    mean: F32 | null, rstd: F32 | null, eps: number,
  ): void;

  /** Layer norm over R rows of L: y = gamma[i] * xhat + beta[i] (gamma/beta length L). */
  layerNormForward(
    x: F32, y: F32, R: number, L: number, gamma: F32 | null, beta: F32 | null, eps: number,
    mean: F32 | null, rstd: F32 | null,
  ): void;
  layerNormBackward(
    dy: F32, x: F32, dx: F32, dgamma: F32, dbeta: F32, R: number, L: number,
    gamma: F32 | null, mean: F32 | null, rstd: F32 | null, eps: number,
  ): void;

  /** P contiguous runs of L floats: mean and M2 (sum of squared deviations) of each. */
  planeMoments(x: F32, P: number, L: number, mean: F64, m2: F64): void;
  /** Joint statistics of (x, dy) per run: means, M2 of x, sum((x - mean_x)(dy - mean_dy)). */
  planeCoMoments(dy: F32, x: F32, P: number, L: number, meanX: F64, meanDy: F64, m2X: F64, cXDy: F64): void;
  /** y = (x - sub[p]) * scale[p] + shift[p] on run p. y may be x. */
  planeAffine(x: F32, y: F32, P: number, L: number, sub: F32, scale: F32, shift: F32): void;
  /** dx = a[p] (dy - dySub[p]) + b[p] (x - xSub[p]) + c[p] on run p. dx may be dy or x. */
  planeBackwardApply(
    dy: F32, x: F32, dx: F32, P: number, L: number, dySub: F32, xSub: F32, a: F32, b: F32, c: F32,
  ): void;

  /** Channels-last [N, S, C]: per (n, c) statistics over S, out at index n*C + c. */
  channelsLastMoments(x: F32, N: number, S: number, C: number, mean: F64, m2: F64): void;
  channelsLastCoMoments(
    dy: F32, x: F32, N: number, S: number, C: number, meanX: F64, meanDy: F64, m2X: F64, cXDy: F64,
  ): void;
  /** y = (x - sub[k]) * scale[k] + shift[k], k = n*C + c. */
  channelsLastAffine(x: F32, y: F32, N: number, S: number, C: number, sub: F32, scale: F32, shift: F32): void;
  channelsLastBackwardApply(
    dy: F32, x: F32, dx: F32, N: number, S: number, C: number,
    dySub: F32, xSub: F32, a: F32, b: F32, c: F32,
  ): void;
}

export type Async<F> = F extends (...args: infer A) => void ? (...args: A) => Promise<void> : never;

/** Both backends also run the fused kernels asynchronously. */
export interface AsyncKernels {
  groupNormForwardAsync: Async<Kernels['groupNormForward']>;
  groupNormBackwardAsync: Async<Kernels['groupNormBackward']>;
}

/** What the addon exposes beyond the kernels. */
export interface NativeAddon extends Kernels, AsyncKernels {
  threads(): number;
  setThreads(n: number): void;
  /** ISAs this CPU supports and this build contains, best first. */
  isas(): string[];
  isa(): string;
  setIsa(name: string): boolean;
}
