/**
 * The call descriptors: one plain object per operation, with named fields,
 * built once by the facade (lib/api/) after validation and taken as is by
 * either backend. The native op layer declares the same fields, in
 * `fields()` of each descriptor struct in native/ops/*.h, and reports their
 * order at load (lib/native.ts); test/api/descriptors checks the two agree.
 *
 * Conventions: `n, c, s` are batch, channels and the product of the spatial
 * dims; `channelsLast` selects [N, S, C] over [N, C, S]; arrays marked
 * optional are null or undefined when absent; outputs are fully written.
 */
type F32 = Float32Array;
type F64 = Float64Array;
type Opt<T> = T | null | undefined;

/** Which row of the gamma/beta tables each sample uses. */
export const enum AffineRows {
  /** rows = 1: one row for every sample. */
  PerChannel = 0,
  /** rows = N: row n for sample n. */
  PerSample = 1,
  /** rows = K: row condition[n] for sample n. */
  Conditional = 2,
}

export interface GroupNormDesc {
  n: number; c: number; s: number; groups: number; channelsLast: boolean;
  affine: AffineRows; rows: number; blend: number; eps: number;
  x: F32; out: F32; gamma: Opt<F32>; beta: Opt<F32>; condition: Opt<Int32Array>;
  mean: Opt<F32>; rstd: Opt<F32>;
}

export interface GroupNormBackwardDesc {
  n: number; c: number; s: number; groups: number; channelsLast: boolean;
  affine: AffineRows; rows: number; blend: number; eps: number;
  dy: F32; x: F32; dx: F32; dgamma: F32; dbeta: F32; gamma: Opt<F32>; condition: Opt<Int32Array>;
  mean: Opt<F32>; rstd: Opt<F32>;
}

export interface BatchNormDesc {
  n: number; c: number; s: number; channelsLast: boolean; training: boolean; haveStats: boolean;
  unbiasedRunning: boolean; statsCount: number; momentum: number; eps: number;
  x: F32; out: F32; gamma: Opt<F32>; beta: Opt<F32>; statsMean: Opt<F64>; statsVar: Opt<F64>;
  runningMean: Opt<F32>; runningVar: Opt<F32>; mean: Opt<F32>; rstd: Opt<F32>;
}

export interface BatchNormBackwardDesc {
  n: number; c: number; s: number; channelsLast: boolean; training: boolean; eps: number;
  dy: F32; x: F32; dx: F32; dgamma: F32; dbeta: F32; gamma: Opt<F32>; mean: Opt<F32>; rstd: Opt<F32>;
  runningMean: Opt<F32>; runningVar: Opt<F32>;
}

export interface LayerNormDesc {
  rows: number; len: number; eps: number;
  x: F32; out: F32; gamma: Opt<F32>; beta: Opt<F32>; mean: Opt<F32>; rstd: Opt<F32>;
}

export interface LayerNormBackwardDesc {
  rows: number; len: number; eps: number;
  dy: F32; x: F32; dx: F32; dgamma: F32; dbeta: F32; gamma: Opt<F32>; mean: Opt<F32>; rstd: Opt<F32>;
}

export interface RmsNormDesc {
  rows: number; len: number; eps: number; x: F32; out: F32; gamma: Opt<F32>; rstd: Opt<F32>;
}

export interface RmsNormBackwardDesc {
  rows: number; len: number; eps: number; dy: F32; x: F32; dx: F32; dgamma: F32; gamma: Opt<F32>; rstd: Opt<F32>;
}

interface AdaINScalars {
  n: number; c: number; s: number; styleN: number; styleS: number; channelsLast: boolean;
  unbiased: boolean; eps: number; alpha: number;
}

export interface AdaINDesc extends AdaINScalars { content: F32; style: F32; out: F32 }

export interface AdaINBackwardDesc extends AdaINScalars {
  dy: F32; content: F32; style: F32; dcontent: F32; dstyle: F32;
}

/** moments(): which axes a statistic covers. */
export const enum MomentsOver { Instance = 0, Batch = 1, Layer = 2, Group = 3 }

export interface MomentsDesc {
  n: number; c: number; s: number; channelsLast: boolean; over: MomentsOver; groups: number;
  x: F32; count: F64; mean: F64; m2: F64;
}

/** Every operation a backend runs, by the name the native layer registers. */
export interface Descriptors {
  groupNorm: GroupNormDesc;
  groupNormBackward: GroupNormBackwardDesc;
  batchNorm: BatchNormDesc;
  batchNormBackward: BatchNormBackwardDesc;
  layerNorm: LayerNormDesc;
  layerNormBackward: LayerNormBackwardDesc;
  rmsNorm: RmsNormDesc;
  rmsNormBackward: RmsNormBackwardDesc;
  adaIN: AdaINDesc;
  adaINBackward: AdaINBackwardDesc;
  moments: MomentsDesc;
}

export type OpName = keyof Descriptors;

/** What a backend offers: every operation, synchronously and asynchronously. */
export interface OpRunner {
  run<K extends OpName>(op: K, d: Descriptors[K]): void;
  /**
   * `fresh` names the arrays the facade allocated for this call (no user
   * code can reach them before the promise settles): the native backend
   * uses those in place instead of copying them.
   */
  runAsync<K extends OpName>(op: K, d: Descriptors[K], fresh: readonly string[]): Promise<void>;
}
