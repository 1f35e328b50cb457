/**
 * The contract both backends implement: the native addon (native/binding.cc)
 * and the pure-TS fallback (lib/js/). Arguments arrive here already
 * validated by the facade; `M` is the product of the spatial dims.
 */
export interface Kernels {
  instanceNormForward(
    x: Float32Array, y: Float32Array, N: number, C: number, M: number,
    gamma: Float32Array | null, beta: Float32Array | null, eps: number,
    mean: Float32Array | null, rstd: Float32Array | null,
  ): void;
  instanceNormBackward(
    dy: Float32Array, x: Float32Array, dx: Float32Array,
    dgamma: Float32Array, dbeta: Float32Array, N: number, C: number, M: number,
    gamma: Float32Array | null, mean: Float32Array | null, rstd: Float32Array | null,
    eps: number,
  ): void;
}

export type Async<F> = F extends (...args: infer A) => void ? (...args: A) => Promise<void> : never;

/** Both backends also run each kernel asynchronously. */
export interface AsyncKernels {
  instanceNormForwardAsync: Async<Kernels['instanceNormForward']>;
  instanceNormBackwardAsync: Async<Kernels['instanceNormBackward']>;
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
