/**
 * The float64 reference of every operation (instance, group, layer, batch
 * and RMS norm, conditional instance norm, AdaIN, moments), forward and
 * backward. Written for clarity: plain two-pass statistics in float64, no
 * shortcuts, independent of lib/. Inputs may be Float32Array or
 * Float64Array (the gradient checks run them in float64 with finite
 * differences). Everything is computed channels-first [N, C, ...spatial];
 * test/helpers/data.mjs converts channels-last tensors to and from it.
 *
 * Conventions: biased variance unless stated, rstd = 1/sqrt(var + eps), and
 * a constant set (var exactly 0) normalizes to xhat = 0 (so y = beta) for
 * any eps, with a zero gradient when eps = 0. RMS norm: a row of zeros gives
 * xhat = 0 for any eps, with a zero gradient when eps = 0.
 *
 * Backward functions also return `scales`: for each gradient, the size of
 * the terms summed into it (see relErrScaled in metrics.mjs).
 */

/** @typedef {Float32Array | Float64Array} Arr */

/** @param {readonly number[]} shape */
const prod = (shape) => shape.reduce((a, b) => a * b, 1);

/** N, C and M (elements per plane) of a channels-first shape. @param {readonly number[]} shape */
export function dims(shape) {
  return { N: shape[0], C: shape[1], M: prod(shape.slice(2)) };
}

// ---------------------------------------------------------------------------
// The core: normalization over arbitrary sets of elements.

/**
 * Statistics of the sets `set[e]` (in [0, S)) and xhat of every element.
 * `variance` is m2 / (count - ddof): biased (ddof 0) unless asked.
 * @param {Arr} x @param {Int32Array} set @param {number} S @param {number} eps @param {number} [ddof]
 */
function normalizeSets(x, set, S, eps, ddof = 0) {
  const count = new Float64Array(S);
  const sum = new Float64Array(S);
  const first = new Float64Array(S).fill(NaN);
  const constant = new Uint8Array(S).fill(1);
  for (let e = 0; e < x.length; e++) {
    const s = set[e];
    count[s]++;
    sum[s] += x[e];
    if (count[s] === 1) first[s] = x[e];
    else if (x[e] !== first[s]) constant[s] = 0;
  }
  const mean = new Float64Array(S);
  for (let s = 0; s < S; s++) mean[s] = constant[s] ? first[s] : sum[s] / count[s];
  const m2 = new Float64Array(S);
  for (let e = 0; e < x.length; e++) m2[set[e]] += (x[e] - mean[set[e]]) ** 2;
  const variance = new Float64Array(S);
  const rstd = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    variance[s] = m2[s] / (count[s] - ddof);
    rstd[s] = 1 / Math.sqrt(variance[s] + eps);
  }
  const xhat = new Float64Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const s = set[e];
    xhat[e] = variance[s] === 0 ? 0 : (x[e] - mean[s]) * rstd[s];
  }
  return { count, mean, m2, variance, rstd, xhat };
}

/**
 * dx of xhat = (x - mean_s) * rstd_s given dL/dxhat: the textbook
 * r * (g - mean_s(g) - xhat * sum_s(g * xhat) / (count - ddof)), ddof 1 when
 * rstd came from the unbiased variance. Zero where rstd is infinite.
 * @param {Float64Array} dxhat @param {Float64Array} xhat @param {Int32Array} set @param {Float64Array} rstd @param {Float64Array} count @param {number} [ddof]
 */
function setsBackward(dxhat, xhat, set, rstd, count, ddof = 0) {
  const S = rstd.length;
  const sg = new Float64Array(S);
  const sgx = new Float64Array(S);
  for (let e = 0; e < xhat.length; e++) {
    sg[set[e]] += dxhat[e];
    sgx[set[e]] += dxhat[e] * xhat[e];
  }
  const dx = new Float64Array(xhat.length);
  let scale = 0;
  for (let e = 0; e < xhat.length; e++) {
    const s = set[e];
    const r = rstd[s];
    dx[e] = r === Infinity ? 0 : r * (dxhat[e] - sg[s] / count[s] - (xhat[e] * sgx[s]) / (count[s] - ddof));
    if (r !== Infinity) scale = Math.max(scale, r * Math.abs(dxhat[e]));
  }
  return { dx, scale };
}

/** Set index per element of an NCHW tensor for the per-channel ops. */
function channelSets(shape, kind, groups = 1) {
  const { N, C, M } = dims(shape);
  const set = new Int32Array(N * C * M);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const s = kind === 'instance' ? n * C + c
      : kind === 'group' ? n * groups + Math.floor(c / (C / groups))
        : kind === 'batch' ? c
          : /* layer */ n;
    set.fill(s, (n * C + c) * M, (n * C + c + 1) * M);
  }
  return set;
}

/** Affine parameter index per element: channel c, or n*C + c when per sample. */
function affineIndex(shape, perSample) {
  const { N, C, M } = dims(shape);
  const idx = new Int32Array(N * C * M);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    idx.fill(perSample ? n * C + c : c, (n * C + c) * M, (n * C + c + 1) * M);
  }
  return idx;
}

/** y = gamma[a] * xhat + beta[a]. @param {Float64Array} xhat @param {Int32Array} a @param {Arr|null|undefined} gamma @param {Arr|null|undefined} beta */
function affine(xhat, a, gamma, beta) {
  const y = new Float64Array(xhat.length);
  for (let e = 0; e < xhat.length; e++) y[e] = (gamma ? gamma[a[e]] : 1) * xhat[e] + (beta ? beta[a[e]] : 0);
  return y;
}

/**
 * dxhat, dgamma, dbeta of the affine step, and the scales of the two sums:
 * the largest sqrt(sum of squared terms) over the parameters.
 */
function affineBackward(dy, xhat, a, gamma, P) {
  const dxhat = new Float64Array(dy.length);
  const dgamma = new Float64Array(P);
  const dbeta = new Float64Array(P);
  const sqG = new Float64Array(P);
  const sqB = new Float64Array(P);
  for (let e = 0; e < dy.length; e++) {
    dxhat[e] = dy[e] * (gamma ? gamma[a[e]] : 1);
    dgamma[a[e]] += dy[e] * xhat[e];
    dbeta[a[e]] += dy[e];
    sqG[a[e]] += (dy[e] * xhat[e]) ** 2;
    sqB[a[e]] += dy[e] ** 2;
  }
  return { dxhat, dgamma, dbeta, sqG, sqB };
}

const rootMax = (sq) => Math.sqrt(sq.reduce((m, v) => Math.max(m, v), 0));

// ---------------------------------------------------------------------------
// Instance norm (per-channel or per-sample affine) and group norm.

/**
 * Group norm (instance norm is groups = C). gamma/beta of length C or N*C.
 * @param {Arr} x @param {readonly number[]} shape @param {number} groups
 * @param {{ gamma?: Arr | null, beta?: Arr | null, eps?: number }} [o]
 */
export function refGroupNorm(x, shape, groups, o = {}) {
  const { N, C } = dims(shape);
  const eps = o.eps ?? 1e-5;
  const st = normalizeSets(x, channelSets(shape, 'group', groups), N * groups, eps);
  const perSample = (o.gamma && o.gamma.length === N * C && N > 1) || (o.beta && o.beta.length === N * C && N > 1);
  const y = affine(st.xhat, affineIndex(shape, !!perSample), o.gamma, o.beta);
  return { y, mean: st.mean, rstd: st.rstd, xhat: st.xhat };
}

/**
 * @param {Arr} dy @param {Arr} x @param {readonly number[]} shape @param {number} groups
 * @param {{ gamma?: Arr | null, eps?: number, perSample?: boolean }} [o] perSample: dgamma/dbeta of length N*C
 */
export function refGroupNormBackward(dy, x, shape, groups, o = {}) {
  const { N, C } = dims(shape);
  const eps = o.eps ?? 1e-5;
  const set = channelSets(shape, 'group', groups);
  const st = normalizeSets(x, set, N * groups, eps);
  const perSample = o.perSample ?? (!!o.gamma && o.gamma.length === N * C && N > 1);
  const { dxhat, dgamma, dbeta, sqG, sqB } = affineBackward(dy, st.xhat, affineIndex(shape, perSample), o.gamma, perSample ? N * C : C);
  const b = setsBackward(dxhat, st.xhat, set, st.rstd, st.count);
  return { dx: b.dx, dgamma, dbeta, scales: { dx: b.scale, dgamma: rootMax(sqG), dbeta: rootMax(sqB) } };
}

/** @param {Arr} x @param {readonly number[]} shape @param {{ gamma?: Arr | null, beta?: Arr | null, eps?: number }} [o] */
export function refInstanceNorm(x, shape, o = {}) {
  return refGroupNorm(x, shape, shape[1], o);
}

/** @param {Arr} dy @param {Arr} x @param {readonly number[]} shape @param {{ gamma?: Arr | null, eps?: number, perSample?: boolean }} [o] */
export function refInstanceNormBackward(dy, x, shape, o = {}) {
  return refGroupNormBackward(dy, x, shape, shape[1], o);
}

// ---------------------------------------------------------------------------
// Layer norm (F.layer_norm) and RMS norm: rows are the last k dims,
// elementwise affine of the row's length.

/** Row index (the set) and position within the row (the affine index) of each element. */
function layerIndex(n, L) {
  const set = new Int32Array(n);
  const a = new Int32Array(n);
  for (let e = 0, r = 0; e < n; e += L, r++) {
    set.fill(r, e, e + L);
    for (let i = 0; i < L; i++) a[e + i] = i;
  }
  return { set, a };
}

/** Row length L (product of the last k dims) and row count R. @param {readonly number[]} shape @param {number} k */
function rowsOf(shape, k) {
  const L = prod(shape.slice(shape.length - k));
  return { L, R: prod(shape) / L };
}

/** @param {Arr} x @param {readonly number[]} shape @param {number} k @param {{ gamma?: Arr | null, beta?: Arr | null, eps?: number }} [o] */
export function refLayerNorm(x, shape, k, o = {}) {
  const { L, R } = rowsOf(shape, k);
  const { set, a } = layerIndex(x.length, L);
  const st = normalizeSets(x, set, R, o.eps ?? 1e-5);
  return { y: affine(st.xhat, a, o.gamma, o.beta), mean: st.mean, rstd: st.rstd, xhat: st.xhat };
}

/** @param {Arr} dy @param {Arr} x @param {readonly number[]} shape @param {number} k @param {{ gamma?: Arr | null, eps?: number }} [o] */
export function refLayerNormBackward(dy, x, shape, k, o = {}) {
  const { L, R } = rowsOf(shape, k);
  const { set, a } = layerIndex(x.length, L);
  const st = normalizeSets(x, set, R, o.eps ?? 1e-5);
  const { dxhat, dgamma, dbeta, sqG, sqB } = affineBackward(dy, st.xhat, a, o.gamma, L);
  const b = setsBackward(dxhat, st.xhat, set, st.rstd, st.count);
  return { dx: b.dx, dgamma, dbeta, scales: { dx: b.scale, dgamma: rootMax(sqG), dbeta: rootMax(sqB) } };
}

/**
 * RMS norm: rstd = 1/sqrt(mean(x^2) + eps) per row, xhat = x * rstd (0 in a
 * row of zeros, also when eps = 0), y = gamma * xhat. `rstd` may be given
 * (the backward's saved statistics) instead of computed.
 * @param {Arr} x @param {readonly number[]} shape @param {number} k @param {{ eps?: number, rstd?: Arr | null }} [o]
 */
function rmsRows(x, shape, k, o = {}) {
  const { L, R } = rowsOf(shape, k);
  const eps = o.eps ?? 1e-5;
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    if (o.rstd) {
      rstd[r] = o.rstd[r];
      continue;
    }
    let ss = 0;
    for (let i = 0; i < L; i++) ss += x[r * L + i] ** 2;
    rstd[r] = 1 / Math.sqrt(ss / L + eps);
  }
  const xhat = new Float64Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const r = rstd[Math.floor(e / L)];
    xhat[e] = r === Infinity ? 0 : x[e] * r;
  }
  return { L, R, rstd, xhat };
}

/** @param {Arr} x @param {readonly number[]} shape @param {number} k @param {{ gamma?: Arr | null, eps?: number }} [o] */
export function refRmsNorm(x, shape, k, o = {}) {
  const { L, rstd, xhat } = rmsRows(x, shape, k, o);
  const y = new Float64Array(x.length);
  for (let e = 0; e < x.length; e++) y[e] = (o.gamma ? o.gamma[e % L] : 1) * xhat[e];
  return { y, rstd, xhat };
}

/**
 * dx = r * (gamma*dy - xhat * mean(gamma*dy*xhat)) per row, dgamma[i] = sum
 * over rows of dy*xhat; zero dx (and no dgamma share) where r is infinite.
 * @param {Arr} dy @param {Arr} x @param {readonly number[]} shape @param {number} k
 * @param {{ gamma?: Arr | null, eps?: number, rstd?: Arr | null }} [o] rstd: saved statistics to use instead of recomputing
 */
export function refRmsNormBackward(dy, x, shape, k, o = {}) {
  const { L, R, rstd, xhat } = rmsRows(x, shape, k, o);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(L);
  const sqG = new Float64Array(L);
  let scale = 0;
  for (let r = 0; r < R; r++) {
    const rs = rstd[r];
    let s = 0;
    for (let i = 0; i < L; i++) s += (o.gamma ? o.gamma[i] : 1) * dy[r * L + i] * xhat[r * L + i];
    for (let i = 0; i < L; i++) {
      const e = r * L + i;
      const gdy = (o.gamma ? o.gamma[i] : 1) * dy[e];
      dgamma[i] += dy[e] * xhat[e];
      sqG[i] += (dy[e] * xhat[e]) ** 2;
      if (rs === Infinity) continue;
      dx[e] = rs * (gdy - (xhat[e] * s) / L);
      scale = Math.max(scale, rs * Math.abs(gdy));
    }
  }
  return { dx, dgamma, scales: { dx: scale, dgamma: rootMax(sqG) } };
}

// ---------------------------------------------------------------------------
// Batch norm (F.batch_norm).

/**
 * @param {Arr} x @param {readonly number[]} shape
 * @param {{ gamma?: Arr | null, beta?: Arr | null, eps?: number, training?: boolean,
 *   runningMean?: Arr | null, runningVar?: Arr | null, momentum?: number,
 *   stats?: { mean: Arr, var: Arr, count?: number } | null }} [o]
 * @returns {{ y: Float64Array, mean: Float64Array, rstd: Float64Array, xhat: Float64Array,
 *   runningMean: Float64Array | null, runningVar: Float64Array | null }}
 *   runningMean/runningVar: the updated running statistics (training) or copies (inference).
 */
export function refBatchNorm(x, shape, o = {}) {
  const { N, C, M } = dims(shape);
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  const set = channelSets(shape, 'batch');
  const a = affineIndex(shape, false);
  let mean, variance, count;
  if (!o.training) {
    if (!o.runningMean || !o.runningVar) throw new Error('reference: inference needs running stats');
    mean = Float64Array.from(o.runningMean);
    variance = Float64Array.from(o.runningVar);
    count = N * M;
  } else if (o.stats) {
    mean = Float64Array.from(o.stats.mean);
    variance = Float64Array.from(o.stats.var);
    count = o.stats.count ?? N * M;
  } else {
    const st = normalizeSets(x, set, C, eps);
    mean = st.mean;
    variance = st.variance;
    count = N * M;
  }
  const rstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = new Float64Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const c = set[e];
    xhat[e] = o.training && variance[c] === 0 ? 0 : (x[e] - mean[c]) * rstd[c];
  }
  let runningMean = o.runningMean ? Float64Array.from(o.runningMean) : null;
  let runningVar = o.runningVar ? Float64Array.from(o.runningVar) : null;
  if (o.training) {
    if (runningMean) runningMean = runningMean.map((r, c) => (1 - momentum) * r + momentum * mean[c]);
    if (runningVar) runningVar = runningVar.map((r, c) => (1 - momentum) * r + momentum * variance[c] * count / (count - 1));
  }
  return { y: affine(xhat, a, o.gamma, o.beta), mean, rstd, xhat, runningMean, runningVar };
}

/**
 * @param {Arr} dy @param {Arr} x @param {readonly number[]} shape
 * @param {{ gamma?: Arr | null, eps?: number, training?: boolean, runningMean?: Arr | null, runningVar?: Arr | null }} [o]
 */
export function refBatchNormBackward(dy, x, shape, o = {}) {
  const { C } = dims(shape);
  const eps = o.eps ?? 1e-5;
  const set = channelSets(shape, 'batch');
  const a = affineIndex(shape, false);
  if (o.training) {
    const st = normalizeSets(x, set, C, eps);
    const { dxhat, dgamma, dbeta, sqG, sqB } = affineBackward(dy, st.xhat, a, o.gamma, C);
    const b = setsBackward(dxhat, st.xhat, set, st.rstd, st.count);
    return { dx: b.dx, dgamma, dbeta, scales: { dx: b.scale, dgamma: rootMax(sqG), dbeta: rootMax(sqB) } };
  }
  const { xhat, rstd } = refBatchNorm(x, shape, { ...o, training: false });
  const { dxhat, dgamma, dbeta, sqG, sqB } = affineBackward(dy, xhat, a, o.gamma, C);
  const dx = dxhat.map((g, e) => g * rstd[set[e]]);
  return { dx, dgamma, dbeta, scales: { dx: 0, dgamma: rootMax(sqG), dbeta: rootMax(sqB) } };
}

// ---------------------------------------------------------------------------
// Conditional instance norm.

/** Rows condition[n] of a [K, C] table as a per-sample [N*C] parameter. @param {Arr} table @param {ArrayLike<number>} condition @param {number} C */
export function gatherRows(table, condition, C) {
  const out = new Float64Array(condition.length * C);
  for (let n = 0; n < condition.length; n++) for (let c = 0; c < C; c++) out[n * C + c] = table[condition[n] * C + c];
  return out;
}

/** @param {Arr} x @param {readonly number[]} shape @param {ArrayLike<number>} condition @param {Arr} gammaTable @param {Arr} betaTable @param {{ eps?: number }} [o] */
export function refConditionalInstanceNorm(x, shape, condition, gammaTable, betaTable, o = {}) {
  const { N, C } = dims(shape);
  const gamma = gatherRows(gammaTable, condition, C);
  const beta = gatherRows(betaTable, condition, C);
  const st = normalizeSets(x, channelSets(shape, 'instance'), N * C, o.eps ?? 1e-5);
  return { y: affine(st.xhat, affineIndex(shape, true), gamma, beta), mean: st.mean, rstd: st.rstd };
}

/** @param {Arr} dy @param {Arr} x @param {readonly number[]} shape @param {ArrayLike<number>} condition @param {Arr} gammaTable @param {Arr} betaTable @param {{ eps?: number }} [o] */
export function refConditionalInstanceNormBackward(dy, x, shape, condition, gammaTable, betaTable, o = {}) {
  const { N, C } = dims(shape);
  const gamma = gatherRows(gammaTable, condition, C);
  const g = refGroupNormBackward(dy, x, shape, C, { gamma, eps: o.eps, perSample: true });
  const dgammaTable = new Float64Array(gammaTable.length);
  const dbetaTable = new Float64Array(betaTable.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    dgammaTable[condition[n] * C + c] += g.dgamma[n * C + c];
    dbetaTable[condition[n] * C + c] += g.dbeta[n * C + c];
  }
  // Rows sum over up to N samples: scale the per-sample term norms by sqrt(N).
  const k = Math.sqrt(N);
  return { dx: g.dx, dgammaTable, dbetaTable, scales: { dx: g.scales.dx, dgammaTable: k * g.scales.dgamma, dbetaTable: k * g.scales.dbeta } };
}

// ---------------------------------------------------------------------------
// AdaIN. With `unbiased: true` BOTH the content's and the style's variances
// are unbiased (divide by count - 1), as torch.var in the widely copied
// PyTorch AdaIN code (see the README).

/** Per-plane mean and sigma = sqrt(var + eps) of the style (biased or unbiased var). */
function styleStats(style, styleShape, eps, unbiased) {
  const { N: Ns, C, M } = dims(styleShape);
  const mu = new Float64Array(Ns * C);
  const sigma = new Float64Array(Ns * C);
  const dev = new Float64Array(style.length);
  for (let p = 0; p < Ns * C; p++) {
    let s = 0;
    for (let i = 0; i < M; i++) s += style[p * M + i];
    mu[p] = s / M;
    let v = 0;
    for (let i = 0; i < M; i++) {
      dev[p * M + i] = style[p * M + i] - mu[p];
      v += dev[p * M + i] ** 2;
    }
    sigma[p] = Math.sqrt(v / (unbiased ? M - 1 : M) + eps);
  }
  return { mu, sigma, dev, D: unbiased ? M - 1 : M, Ms: M };
}

/**
 * @param {Arr} content @param {readonly number[]} contentShape @param {Arr} style @param {readonly number[]} styleShape
 * @param {{ eps?: number, alpha?: number, unbiased?: boolean }} [o]
 */
export function refAdaIN(content, contentShape, style, styleShape, o = {}) {
  const { N, C, M } = dims(contentShape);
  const Ns = styleShape[0];
  const eps = o.eps ?? 1e-5;
  const alpha = o.alpha ?? 1;
  const ss = styleStats(style, styleShape, eps, !!o.unbiased);
  const st = normalizeSets(content, channelSets(contentShape, 'instance'), N * C, eps, o.unbiased ? 1 : 0);
  const y = new Float64Array(content.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const q = (Ns === 1 ? 0 : n) * C + c;
    for (let i = 0; i < M; i++) {
      const e = (n * C + c) * M + i;
      const t = ss.sigma[q] * st.xhat[e] + ss.mu[q];
      y[e] = alpha * t + (1 - alpha) * content[e];
    }
  }
  return { y, styleMean: ss.mu, styleSigma: ss.sigma };
}

/**
 * @param {Arr} dy @param {Arr} content @param {readonly number[]} contentShape @param {Arr} style @param {readonly number[]} styleShape
 * @param {{ eps?: number, alpha?: number, unbiased?: boolean }} [o]
 */
export function refAdaINBackward(dy, content, contentShape, style, styleShape, o = {}) {
  const { N, C, M } = dims(contentShape);
  const Ns = styleShape[0];
  const eps = o.eps ?? 1e-5;
  const alpha = o.alpha ?? 1;
  const ss = styleStats(style, styleShape, eps, !!o.unbiased);
  const set = channelSets(contentShape, 'instance');
  const ddof = o.unbiased ? 1 : 0;
  const st = normalizeSets(content, set, N * C, eps, ddof);
  const dxhat = new Float64Array(content.length);
  const dmu = new Float64Array(Ns * C);
  const dsigma = new Float64Array(Ns * C);
  const sqMu = new Float64Array(Ns * C);
  const sqSigma = new Float64Array(Ns * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const q = (Ns === 1 ? 0 : n) * C + c;
    for (let i = 0; i < M; i++) {
      const e = (n * C + c) * M + i;
      const dt = alpha * dy[e];
      dxhat[e] = dt * ss.sigma[q];
      dmu[q] += dt;
      dsigma[q] += dt * st.xhat[e];
      sqMu[q] += dt * dt;
      sqSigma[q] += (dt * st.xhat[e]) ** 2;
    }
  }
  const b = setsBackward(dxhat, st.xhat, set, st.rstd, st.count, ddof);
  const dcontent = b.dx;
  let scaleC = b.scale;
  for (let e = 0; e < dcontent.length; e++) {
    dcontent[e] += (1 - alpha) * dy[e];
    scaleC = Math.max(scaleC, (1 - alpha) * Math.abs(dy[e]));
  }
  const dstyle = new Float64Array(style.length);
  let scaleS = 0;
  for (let q = 0; q < Ns * C; q++) {
    for (let i = 0; i < ss.Ms; i++) {
      const j = q * ss.Ms + i;
      dstyle[j] = dmu[q] / ss.Ms + (dsigma[q] * ss.dev[j]) / (ss.D * ss.sigma[q]);
      scaleS = Math.max(scaleS, Math.sqrt(sqMu[q]) / ss.Ms + (Math.sqrt(sqSigma[q]) * Math.abs(ss.dev[j])) / (ss.D * ss.sigma[q]));
    }
  }
  return { dcontent, dstyle, scales: { dcontent: scaleC, dstyle: scaleS } };
}

// ---------------------------------------------------------------------------
// Moments.

/**
 * @param {Arr} x @param {readonly number[]} shape channels-first
 * @param {{ over?: 'instance' | 'batch' | 'layer' | 'group', groups?: number }} [o]
 */
export function refMoments(x, shape, o = {}) {
  const { N, C } = dims(shape);
  const over = o.over ?? 'instance';
  const S = over === 'instance' ? N * C : over === 'batch' ? C : over === 'layer' ? N : N * (o.groups ?? 1);
  const st = normalizeSets(x, channelSets(shape, over, o.groups), S, 0);
  return { count: st.count, mean: st.mean, m2: st.m2 };
}

/** Chan et al.'s merge, elementwise. */
export function refMergeMoments(a, b) {
  const n = a.mean.length;
  const count = new Float64Array(n);
  const mean = new Float64Array(n);
  const m2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const na = a.count[i];
    const nb = b.count[i];
    count[i] = na + nb;
    const delta = b.mean[i] - a.mean[i];
    mean[i] = count[i] === 0 ? 0 : a.mean[i] + (delta * nb) / count[i];
    m2[i] = a.m2[i] + b.m2[i] + (count[i] === 0 ? 0 : (delta * delta * na * nb) / count[i]);
  }
  return { count, mean, m2 };
}
