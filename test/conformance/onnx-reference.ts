/**
 * Float64 reference of ONNX's normalization operators, written from the
 * operator specification text (onnx/onnx docs/Operators.md and
 * docs/Changelog.md; MeanVarianceNormalization's function body in
 * onnx/defs/nn/defs.cc), not from ONNX's reference implementation or test
 * data. Inputs are the float32 tensors handed to instnorm; everything is
 * computed in float64, so the expected values carry no float32 rounding
 * other than that of the inputs.
 *
 * The one shared piece is ReduceMean / ReduceVar over a set of axes: ONNX
 * defines every operator here by them, with the population variance
 * (sum((x - mean)^2) / count), computed here in two passes as the spec's
 * formulas read.
 */

export type Arr = ArrayLike<number>;

export const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** ONNX's axis attribute (in [-rank, rank)) as a non-negative axis. */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new RangeError(`axis ${axis} outside [-${rank}, ${rank})`);
  return axis < 0 ? axis + rank : axis;
}

export interface Reduced {
  /** Statistic index of each element: the row-major index over the kept axes. */
  index: Int32Array;
  count: number;
  mean: Float64Array;
  /** Population variance. */
  variance: Float64Array;
}

/** ReduceMean and ReduceVar of x over `axes` (keepdims: one statistic per index of the kept axes). */
export function reduceMeanVar(x: Arr, shape: readonly number[], axes: readonly number[]): Reduced {
  const rank = shape.length;
  const reduced = new Set(axes.map((a) => normalizeAxis(a, rank)));
  // Row-major strides of the kept axes' index space.
  const keptStride = new Array<number>(rank).fill(0);
  let kept = 1;
  for (let a = rank - 1; a >= 0; a--) {
    if (!reduced.has(a)) {
      keptStride[a] = kept;
      kept *= shape[a];
    }
  }
  const count = numelOf(shape) / kept;
  const index = new Int32Array(x.length);
  const coord = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.length; i++) {
    let k = 0;
    for (let a = 0; a < rank; a++) k += coord[a] * keptStride[a];
    index[i] = k;
    for (let a = rank - 1; a >= 0; a--) {
      if (++coord[a] < shape[a]) break;
      coord[a] = 0;
    }
  }
  const mean = new Float64Array(kept);
  for (let i = 0; i < x.length; i++) mean[index[i]] += x[i];
  for (let k = 0; k < kept; k++) mean[k] /= count;
  const variance = new Float64Array(kept);
  for (let i = 0; i < x.length; i++) variance[index[i]] += (x[i] - mean[index[i]]) ** 2;
  for (let k = 0; k < kept; k++) variance[k] /= count;
  return { index, count, mean, variance };
}

/**
 * The element of `p` (shape `pShape`, unidirectionally broadcastable to
 * `shape`: dims aligned from the right, a dim of 1 repeats) that meets
 * element i of a tensor of `shape`.
 */
function broadcastAt(i: number, shape: readonly number[], p: Arr, pShape: readonly number[]): number {
  let rest = i;
  let j = 0;
  let stride = 1;
  for (let a = shape.length - 1, b = pShape.length - 1; a >= 0; a--, b--) {
    const coord = rest % shape[a];
    rest = (rest - coord) / shape[a];
    if (b >= 0) {
      if (pShape[b] !== 1) j += coord * stride;
      stride *= pShape[b];
    }
  }
  return p[j];
}

/** All axes but the channel axis (1): the batch-norm reduction. */
const allButChannel = (rank: number) => Array.from({ length: rank }, (_, a) => a).filter((a) => a !== 1);

/** The channel of element i of an [N, C, ...] tensor. */
const channelOf = (i: number, shape: readonly number[]) => Math.floor(i / numelOf(shape.slice(2))) % shape[1];

/**
 * BatchNormalization (opset 15) inputs. X is (N x C x D1 ... Dn), or (N)
 * with C = 1; pass that case as [N, 1].
 */
export interface BatchNormInputs {
  x: Arr; shape: readonly number[]; scale: Arr; B: Arr; inputMean: Arr; inputVar: Arr; epsilon: number;
}

/** training_mode = 0: Y = (X - input_mean) / sqrt(input_var + epsilon) * scale + B. */
export function batchNormalizationInference(a: BatchNormInputs): Float64Array {
  return Float64Array.from(a.x, (v, i) => {
    const c = channelOf(i, a.shape);
    return ((v - a.inputMean[c]) / Math.sqrt(a.inputVar[c] + a.epsilon)) * a.scale[c] + a.B[c];
  });
}

/**
 * training_mode = 1: Y with the current (batch) mean and population
 * variance; running_mean = input_mean * momentum + current_mean * (1 - momentum),
 * running_var likewise with current_var (population: "not the sample size N-1").
 */
export function batchNormalizationTraining(a: BatchNormInputs & { momentum: number }) {
  const st = reduceMeanVar(a.x, a.shape, allButChannel(a.shape.length));
  const y = Float64Array.from(a.x, (v, i) => {
    const c = channelOf(i, a.shape);
    return ((v - st.mean[c]) / Math.sqrt(st.variance[c] + a.epsilon)) * a.scale[c] + a.B[c];
  });
  const runningMean = Float64Array.from(st.mean, (m, c) => a.inputMean[c] * a.momentum + m * (1 - a.momentum));
  const runningVar = Float64Array.from(st.variance, (v, c) => a.inputVar[c] * a.momentum + v * (1 - a.momentum));
  return { y, runningMean, runningVar, currentMean: st.mean, currentVar: st.variance };
}

/** InstanceNormalization: y = scale * (x - mean) / sqrt(variance + epsilon) + B, statistics per (n, c) over D1..Dn. */
export function instanceNormalization(x: Arr, shape: readonly number[], scale: Arr, B: Arr, epsilon: number): Float64Array {
  const st = reduceMeanVar(x, shape, Array.from({ length: shape.length - 2 }, (_, k) => k + 2));
  return Float64Array.from(x, (v, i) => {
    const c = channelOf(i, shape);
    const k = st.index[i];
    return (scale[c] * (v - st.mean[k])) / Math.sqrt(st.variance[k] + epsilon) + B[c];
  });
}

/**
 * LayerNormalization (opset 17): normalized_axes = [axis, ..., rank - 1];
 * Normalized = (X - Mean) * InvStdDev with InvStdDev = 1 / sqrt(Var + epsilon);
 * Y = Normalized * Scale + B, Scale and B unidirectionally broadcast to X.
 * Outputs Y, Mean and InvStdDev (one per index of the leading axes).
 */
export function layerNormalization(
  x: Arr, shape: readonly number[], scale: { data: Arr; shape: readonly number[] },
  B: { data: Arr; shape: readonly number[] } | null, axis: number, epsilon: number,
) {
  const first = normalizeAxis(axis, shape.length);
  const st = reduceMeanVar(x, shape, Array.from({ length: shape.length - first }, (_, k) => first + k));
  const invStdDev = Float64Array.from(st.variance, (v) => 1 / Math.sqrt(v + epsilon));
  const y = Float64Array.from(x, (v, i) => {
    const k = st.index[i];
    const normalized = (v - st.mean[k]) * invStdDev[k];
    return normalized * broadcastAt(i, shape, scale.data, scale.shape) + (B ? broadcastAt(i, shape, B.data, B.shape) : 0);
  });
  return { y, mean: st.mean, invStdDev };
}

/**
 * MeanVarianceNormalization (opset 13). The doc formula is
 * (X - EX) / sqrt(E(X - EX)^2); the operator's function body, which is its
 * definition, adds a constant epsilon of 1e-9 to the standard deviation:
 * Y = (X - EX) / (sqrt(Var) + 1e-9). (The body gets Var as
 * E(X^2) - (EX)^2, equal in exact arithmetic to the two-pass value used here.)
 */
export const MVN_EPSILON = 1e-9;

export function meanVarianceNormalization(x: Arr, shape: readonly number[], axes: readonly number[] = [0, 2, 3]): Float64Array {
  const st = reduceMeanVar(x, shape, axes);
  return Float64Array.from(x, (v, i) => {
    const k = st.index[i];
    return (v - st.mean[k]) / (Math.sqrt(st.variance[k]) + MVN_EPSILON);
  });
}

/**
 * GroupNormalization: statistics per (n, group of C / num_groups
 * consecutive channels) over those channels and D1..Dn;
 * y = scale * (x - mean) / sqrt(variance + epsilon) + bias.
 * `perGroupAffine` false: opset 21 (scale, bias of shape (C)); true: opset 18
 * (scale, bias "specified for each group of channels", shape (num_groups)).
 */
export function groupNormalization(
  x: Arr, shape: readonly number[], numGroups: number, scale: Arr, bias: Arr, epsilon: number, perGroupAffine = false,
): Float64Array {
  const [N, C] = shape;
  if (C % numGroups !== 0) throw new RangeError(`num_groups ${numGroups} does not divide C = ${C}`);
  // [N, G, C/G * D1 * ... * Dn] has the same memory order: reduce its last axis.
  const grouped = [N, numGroups, numelOf(shape) / (N * numGroups)];
  const st = reduceMeanVar(x, grouped, [2]);
  const perGroup = C / numGroups;
  return Float64Array.from(x, (v, i) => {
    const c = channelOf(i, shape);
    const p = perGroupAffine ? Math.floor(c / perGroup) : c;
    const k = st.index[i];
    return (scale[p] * (v - st.mean[k])) / Math.sqrt(st.variance[k] + epsilon) + bias[p];
  });
}

/**
 * RMSNormalization (opset 23): normalized_axes = [axis, ..., rank - 1];
 * RMS = sqrt(ReduceMean(X * X) + epsilon); Y = X / RMS * Scale, Scale
 * unidirectionally broadcast to X.
 */
export function rmsNormalization(
  x: Arr, shape: readonly number[], scale: { data: Arr; shape: readonly number[] }, axis: number, epsilon: number,
): Float64Array {
  const first = normalizeAxis(axis, shape.length);
  const sq = Float64Array.from(x, (v) => v * v);
  const st = reduceMeanVar(sq, shape, Array.from({ length: shape.length - first }, (_, k) => first + k));
  return Float64Array.from(x, (v, i) => (v / Math.sqrt(st.mean[st.index[i]] + epsilon)) * broadcastAt(i, shape, scale.data, scale.shape));
}
