/**
 * Every async function with every array argument it takes, on tensors
 * large enough that the work is still in flight when the caller takes a
 * buffer away. A case is a function of `arr(name, Ctor, length, role)`,
 * which makes the array for argument `name` (the runner decides what kind
 * of buffer each one lives on); it returns the arguments of the call.
 * Roles: 'in' (read), 'out' (written), 'inout' (running statistics).
 */

// Sizes: 256Ki elements per tensor (1 MiB), the kernels' threading
// threshold. The buffer is taken away synchronously right after the call
// returns, before the event loop can run the call's completion, so the call
// is in flight whatever the size; the size makes the kernels run long enough
// (and on several threads) for a use-after-free to hit freed memory.
const N = 1, C = 16, H = 128, W = 128;
const SHAPE = [N, C, H, W];
const NUMEL = N * C * H * W;
const ROWS = 64, LEN = 4096;
const STYLE = [1, C, 64, 64];
const STYLE_NUMEL = C * 64 * 64;

const instanceLike = (fn, groups) => ({
  fn,
  forward: (arr) => {
    const args = [arr('x', Float32Array, NUMEL, 'in'), SHAPE];
    if (groups) args.push(groups);
    args.push({
      gamma: arr('options.gamma', Float32Array, C, 'in'), beta: arr('options.beta', Float32Array, C, 'in'),
      out: arr('options.out', Float32Array, NUMEL, 'out'), mean: arr('options.mean', Float32Array, N * (groups || C), 'out'),
      rstd: arr('options.rstd', Float32Array, N * (groups || C), 'out'),
    });
    return args;
  },
  backward: (arr) => {
    const args = [arr('dy', Float32Array, NUMEL, 'in'), arr('x', Float32Array, NUMEL, 'in'), SHAPE];
    if (groups) args.push(groups);
    args.push({
      gamma: arr('options.gamma', Float32Array, C, 'in'), beta: arr('options.beta', Float32Array, C, 'in'),
      mean: arr('options.mean', Float32Array, N * (groups || C), 'stat-mean'), rstd: arr('options.rstd', Float32Array, N * (groups || C), 'stat-rstd'),
      dx: arr('options.dx', Float32Array, NUMEL, 'out'), dgamma: arr('options.dgamma', Float32Array, C, 'out'),
      dbeta: arr('options.dbeta', Float32Array, C, 'out'),
    });
    return args;
  },
});

/** [function name without Async, (arr) => arguments][] */
export const CASES = [];
for (const { fn, forward, backward } of [instanceLike('instanceNorm', 0), instanceLike('groupNorm', 4)]) {
  CASES.push([fn, forward], [`${fn}Backward`, backward]);
}

CASES.push(
  ['conditionalInstanceNorm', (arr) => [arr('x', Float32Array, NUMEL, 'in'), SHAPE, arr('condition', Int32Array, N, 'cond'),
    arr('gammaTable', Float32Array, 3 * C, 'in'), arr('betaTable', Float32Array, 3 * C, 'in'),
    { out: arr('options.out', Float32Array, NUMEL, 'out'), mean: arr('options.mean', Float32Array, N * C, 'out'), rstd: arr('options.rstd', Float32Array, N * C, 'out') }]],
  ['conditionalInstanceNormBackward', (arr) => [arr('dy', Float32Array, NUMEL, 'in'), arr('x', Float32Array, NUMEL, 'in'), SHAPE,
    arr('condition', Int32Array, N, 'cond'), arr('gammaTable', Float32Array, 3 * C, 'in'), arr('betaTable', Float32Array, 3 * C, 'in'),
    { mean: arr('options.mean', Float32Array, N * C, 'stat-mean'), rstd: arr('options.rstd', Float32Array, N * C, 'stat-rstd'),
      dx: arr('options.dx', Float32Array, NUMEL, 'out'), dgammaTable: arr('options.dgammaTable', Float32Array, 3 * C, 'out'),
      dbetaTable: arr('options.dbetaTable', Float32Array, 3 * C, 'out') }]],
  // Training: batch statistics, running statistics updated in place.
  ['batchNorm', (arr) => [arr('x', Float32Array, NUMEL, 'in'), SHAPE, {
    training: true, gamma: arr('options.gamma', Float32Array, C, 'in'), beta: arr('options.beta', Float32Array, C, 'in'),
    runningMean: arr('options.runningMean', Float32Array, C, 'inout'), runningVar: arr('options.runningVar', Float32Array, C, 'inout-var'),
    out: arr('options.out', Float32Array, NUMEL, 'out'), mean: arr('options.mean', Float32Array, C, 'out'), rstd: arr('options.rstd', Float32Array, C, 'out') }]],
  // Training with given statistics (copied by the facade), and inference.
  ['batchNorm', (arr) => [arr('x', Float32Array, NUMEL, 'in'), SHAPE, {
    training: true, stats: { mean: arr('options.stats.mean', Float64Array, C, 'in'), var: arr('options.stats.var', Float64Array, C, 'var') },
    out: arr('options.out', Float32Array, NUMEL, 'out') }]],
  ['batchNorm', (arr) => [arr('x', Float32Array, NUMEL, 'in'), SHAPE, {
    runningMean: arr('options.runningMean', Float32Array, C, 'in'), runningVar: arr('options.runningVar', Float32Array, C, 'var'),
    out: arr('options.out', Float32Array, NUMEL, 'out') }]],
  ['batchNormBackward', (arr) => [arr('dy', Float32Array, NUMEL, 'in'), arr('x', Float32Array, NUMEL, 'in'), SHAPE, {
    training: true, gamma: arr('options.gamma', Float32Array, C, 'in'),
    mean: arr('options.mean', Float32Array, C, 'batch-mean'), rstd: arr('options.rstd', Float32Array, C, 'batch-rstd'),
    dx: arr('options.dx', Float32Array, NUMEL, 'out'), dgamma: arr('options.dgamma', Float32Array, C, 'out'), dbeta: arr('options.dbeta', Float32Array, C, 'out') }]],
  ['batchNormBackward', (arr) => [arr('dy', Float32Array, NUMEL, 'in'), arr('x', Float32Array, NUMEL, 'in'), SHAPE, {
    runningMean: arr('options.runningMean', Float32Array, C, 'in'), runningVar: arr('options.runningVar', Float32Array, C, 'var'),
    dx: arr('options.dx', Float32Array, NUMEL, 'out') }]],
  ['layerNorm', (arr) => [arr('x', Float32Array, ROWS * LEN, 'in'), [ROWS, LEN], 1, {
    gamma: arr('options.gamma', Float32Array, LEN, 'in'), beta: arr('options.beta', Float32Array, LEN, 'in'),
    out: arr('options.out', Float32Array, ROWS * LEN, 'out'), mean: arr('options.mean', Float32Array, ROWS, 'out'), rstd: arr('options.rstd', Float32Array, ROWS, 'out') }]],
  ['layerNormBackward', (arr) => [arr('dy', Float32Array, ROWS * LEN, 'in'), arr('x', Float32Array, ROWS * LEN, 'in'), [ROWS, LEN], 1, {
    gamma: arr('options.gamma', Float32Array, LEN, 'in'), mean: arr('options.mean', Float32Array, ROWS, 'row-mean'), rstd: arr('options.rstd', Float32Array, ROWS, 'row-rstd'),
    dx: arr('options.dx', Float32Array, ROWS * LEN, 'out'), dgamma: arr('options.dgamma', Float32Array, LEN, 'out'), dbeta: arr('options.dbeta', Float32Array, LEN, 'out') }]],
  ['rmsNorm', (arr) => [arr('x', Float32Array, ROWS * LEN, 'in'), [ROWS, LEN], 1, {
    gamma: arr('options.gamma', Float32Array, LEN, 'in'), out: arr('options.out', Float32Array, ROWS * LEN, 'out'), rstd: arr('options.rstd', Float32Array, ROWS, 'out') }]],
  ['rmsNormBackward', (arr) => [arr('dy', Float32Array, ROWS * LEN, 'in'), arr('x', Float32Array, ROWS * LEN, 'in'), [ROWS, LEN], 1, {
    gamma: arr('options.gamma', Float32Array, LEN, 'in'), rstd: arr('options.rstd', Float32Array, ROWS, 'rms-rstd'),
    dx: arr('options.dx', Float32Array, ROWS * LEN, 'out'), dgamma: arr('options.dgamma', Float32Array, LEN, 'out') }]],
  ['adaIN', (arr) => [arr('content', Float32Array, NUMEL, 'in'), SHAPE, arr('style', Float32Array, STYLE_NUMEL, 'in'), STYLE,
    { out: arr('options.out', Float32Array, NUMEL, 'out') }]],
  ['adaINBackward', (arr) => [arr('dy', Float32Array, NUMEL, 'in'), arr('content', Float32Array, NUMEL, 'in'), SHAPE,
    arr('style', Float32Array, STYLE_NUMEL, 'in'), STYLE,
    { dcontent: arr('options.dcontent', Float32Array, NUMEL, 'out'), dstyle: arr('options.dstyle', Float32Array, STYLE_NUMEL, 'out') }]],
  ['moments', (arr) => [arr('x', Float32Array, NUMEL, 'in'), SHAPE, { over: 'instance' }]],
);

/**
 * Deterministic content for an argument: data N(0,1)-like for tensors,
 * positive variances, plausible saved statistics (any positive rstd is a
 * valid input), zeros for outputs, a condition in range.
 */
export function fill(a, role, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296 - 0.5;
  };
  for (let i = 0; i < a.length; i++) {
    if (role === 'out') a[i] = 0;
    else if (role === 'cond') a[i] = i % 3;
    else if (role.endsWith('rstd') || role === 'var' || role === 'inout-var') a[i] = 0.5 + next() * 0.5 + 0.5;
    else if (role.endsWith('mean')) a[i] = next() * 0.1;
    else a[i] = next() * 3;
  }
  return a;
}

/** Roles whose buffer the call writes. */
export const isOutput = (role) => role === 'out' || role.startsWith('inout');
