/**
 * instnorm: instance normalization for Node.js.
 *
 * This facade owns the user's experience: it validates every argument
 * (before any kernel runs), allocates results that were not supplied, and
 * hands the work to the backend chosen at load (native SIMD or pure TS).
 */
import { active, checkThreads, type BackendInfo, type IsaName } from './backend';
import type { Kernels } from './kernels';
import {
  epsilon, fixedLength, float32, noOverlap, optionalFloat32, optionsObject, planeShape,
} from './validate';

export type { BackendInfo, IsaName };

export interface InstanceNormOptions {
  /** Per-channel scale, length C. Absent: 1. */
  gamma?: Float32Array;
  /** Per-channel shift, length C. Absent: 0. */
  beta?: Float32Array;
  /** Added to the variance inside the square root. Default 1e-5; finite, >= 0. */
  eps?: number;
  /** Output buffer, length numel. May be `x` itself (in place). */
  out?: Float32Array;
  /** Filled with the per-plane mean, length N*C. */
  mean?: Float32Array;
  /** Filled with the per-plane 1/sqrt(var + eps), length N*C. */
  rstd?: Float32Array;
}

export interface InstanceNormBackwardOptions {
  /** The forward's gamma, length C. Absent: 1. */
  gamma?: Float32Array;
  /** Accepted so that one options object can serve both passes; unused (beta does not enter the gradients). */
  beta?: Float32Array;
  /** Used only when the statistics are recomputed (mean/rstd absent). Default 1e-5. */
  eps?: number;
  /** The forward's per-plane mean, length N*C (both or neither of mean and rstd). */
  mean?: Float32Array;
  /** The forward's per-plane 1/sqrt(var + eps), length N*C. */
  rstd?: Float32Array;
  /** Output buffer for dx, length numel. May be `dy` or `x` itself. */
  dx?: Float32Array;
  /** Output buffer for dgamma, length C. */
  dgamma?: Float32Array;
  /** Output buffer for dbeta, length C. */
  dbeta?: Float32Array;
}

export interface InstanceNormGradients {
  dx: Float32Array;
  /** Summed over the batch, length C. */
  dgamma: Float32Array;
  /** Summed over the batch, length C. */
  dbeta: Float32Array;
}

const FORWARD_OPTIONS = new Set(['gamma', 'beta', 'eps', 'out', 'mean', 'rstd'] as const);
const BACKWARD_OPTIONS = new Set(['gamma', 'beta', 'eps', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta'] as const);
const FORWARD_OUTPUTS = ['options.out', 'options.mean', 'options.rstd'];
const FORWARD_INPUTS = ['x', 'options.gamma', 'options.beta'];
const BACKWARD_OUTPUTS = ['options.dx', 'options.dgamma', 'options.dbeta'];
const BACKWARD_INPUTS = ['dy', 'x', 'options.gamma', 'options.mean', 'options.rstd'];

type ForwardArgs = Parameters<Kernels['instanceNormForward']>;
type BackwardArgs = Parameters<Kernels['instanceNormBackward']>;

/** Validates a forward call and returns the kernel arguments (y allocated if needed). */
function forwardArgs(fn: string, x: unknown, shape: unknown, options: unknown): ForwardArgs {
  const o = optionsObject(options, fn, FORWARD_OPTIONS);
  const s = planeShape(shape);
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.c, 'C');
  const beta = optionalFloat32(o.beta, 'options.beta', s.c, 'C');
  const eps = epsilon(o.eps);
  const out = optionalFloat32(o.out, 'options.out', s.numel, 'the product of shape');
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  if (out || mean || rstd) noOverlap([out, mean, rstd], FORWARD_OUTPUTS, [xs, gamma, beta], FORWARD_INPUTS, 1);
  return [xs, out ?? new Float32Array(s.numel), s.n, s.c, s.m, gamma, beta, eps, mean, rstd];
}

/** Validates a backward call and returns the kernel arguments (outputs allocated if needed). */
function backwardArgs(fn: string, dy: unknown, x: unknown, shape: unknown, options: unknown): BackwardArgs {
  const o = optionsObject(options, fn, BACKWARD_OPTIONS);
  const s = planeShape(shape);
  const dys = float32(dy, 'dy', s.numel, 'the product of shape');
  const xs = float32(x, 'x', s.numel, 'the product of shape');
  const gamma = optionalFloat32(o.gamma, 'options.gamma', s.c, 'C');
  optionalFloat32(o.beta, 'options.beta', s.c, 'C');
  const eps = epsilon(o.eps);
  const mean = optionalFloat32(o.mean, 'options.mean', s.n * s.c, 'N*C');
  const rstd = optionalFloat32(o.rstd, 'options.rstd', s.n * s.c, 'N*C');
  if ((mean === null) !== (rstd === null)) {
    throw new TypeError(`${fn}: options.mean and options.rstd must be given together (got only ${mean ? 'mean' : 'rstd'})`);
  }
  const dx = optionalFloat32(o.dx, 'options.dx', s.numel, 'the product of shape');
  const dgamma = optionalFloat32(o.dgamma, 'options.dgamma', s.c, 'C');
  const dbeta = optionalFloat32(o.dbeta, 'options.dbeta', s.c, 'C');
  if (dx || dgamma || dbeta) {
    noOverlap([dx, dgamma, dbeta], BACKWARD_OUTPUTS, [dys, xs, gamma, mean, rstd], BACKWARD_INPUTS, 2);
  }
  return [dys, xs, dx ?? new Float32Array(s.numel), dgamma ?? new Float32Array(s.c), dbeta ?? new Float32Array(s.c),
    s.n, s.c, s.m, gamma, mean, rstd, eps];
}

const ASYNC_FORWARD_NAMES = ['x', 'out', 'options.gamma', 'options.beta', 'options.mean', 'options.rstd'];
const ASYNC_BACKWARD_NAMES = ['dy', 'x', 'dx', 'dgamma', 'dbeta', 'options.gamma', 'options.mean', 'options.rstd'];

const gradients = (a: BackwardArgs): InstanceNormGradients => ({ dx: a[2], dgamma: a[3], dbeta: a[4] });

/**
 * Instance normalization of `x` with shape [N, C, ...spatial]:
 * `y = gamma[c] * (x - mean[n,c]) / sqrt(var[n,c] + eps) + beta[c]`, with
 * the biased variance of each (n, c) plane (as PyTorch and ONNX).
 * Returns y (`options.out` when given).
 */
export function instanceNorm(
  x: Float32Array, shape: readonly number[], options?: InstanceNormOptions,
): Float32Array {
  const args = forwardArgs('instanceNorm', x, shape, options);
  active.kernels.instanceNormForward(...args);
  return args[1];
}

/**
 * {@link instanceNorm} off the JS thread (native backend: a libuv worker,
 * using the same thread count). Arguments are validated before anything
 * runs; a bad call returns a rejected promise. The arrays are kept alive
 * until the promise settles: do not read the outputs, change the inputs, or
 * transfer any of their buffers (postMessage transfer lists, structuredClone
 * with transfer, ArrayBuffer#transfer) before then; the kernel is still
 * using that memory. Resizable ArrayBuffers are refused.
 */
export async function instanceNormAsync(
  x: Float32Array, shape: readonly number[], options?: InstanceNormOptions,
): Promise<Float32Array> {
  const args = forwardArgs('instanceNormAsync', x, shape, options);
  fixedLength('instanceNormAsync', [args[0], args[1], args[5], args[6], args[8], args[9]], ASYNC_FORWARD_NAMES);
  await active.kernels.instanceNormForwardAsync(...args);
  return args[1];
}

/**
 * Gradients of {@link instanceNorm} given the upstream gradient `dy`.
 * Uses the forward's saved `rstd` when given (with `mean`), else recomputes
 * the statistics from `x` with `eps`. The mean is always recomputed exactly
 * in the reduction pass (a saved float32 mean has lost precision).
 */
export function instanceNormBackward(
  dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions,
): InstanceNormGradients {
  const args = backwardArgs('instanceNormBackward', dy, x, shape, options);
  active.kernels.instanceNormBackward(...args);
  return gradients(args);
}

/** {@link instanceNormBackward} off the JS thread; see {@link instanceNormAsync}. */
export async function instanceNormBackwardAsync(
  dy: Float32Array, x: Float32Array, shape: readonly number[], options?: InstanceNormBackwardOptions,
): Promise<InstanceNormGradients> {
  const args = backwardArgs('instanceNormBackwardAsync', dy, x, shape, options);
  fixedLength('instanceNormBackwardAsync', [args[0], args[1], args[2], args[3], args[4], args[8], args[9], args[10]],
    ASYNC_BACKWARD_NAMES);
  await active.kernels.instanceNormBackwardAsync(...args);
  return gradients(args);
}

/**
 * Sets how many threads the native kernels may use (1 to 1024; default:
 * INSTNORM_THREADS, else all cores). Tensors below 256Ki elements always
 * run on the calling thread. Results are bit-identical for every thread count.
 * On the JS backend this is validated and has no effect (it has one thread).
 */
export function setThreads(n: number): void {
  const t = checkThreads(n, 'threads');
  if (active.native) {
    active.native.setThreads(t);
    active.info.threads = t;
  }
}

/** The thread count in use (always 1 on the JS backend). */
export function getThreads(): number {
  return active.info.threads;
}

/** The backend in use: native (with its ISA and threads) or js (with the reason). */
export function backend(): BackendInfo {
  return { ...active.info };
}
