// The project's speed targets, checked on every run and printed as met or
// MISSED (issue 11 set them; README, Performance, has the figures and the
// profiles of the missed ones). Times are medians of the same run, so the
// ratios hold on any machine; the VMs are noisy (10-40% between runs), so a
// target within that of its figure can flip from run to run.
//
// Profile a missed one with `npm run bench:profile` (callgrind instructions
// per element, per function; bench/profile.mjs).

const MiB = 2 ** 20;

/** Elements per plane of an instance-norm shape [N, C, spatial...]. */
const planeOf = (dims) => dims.slice(2).reduce((a, b) => a * b, 1);

// x memcpy on 1 thread, best ISA: large planes (1024+ elements) on tensors
// of 2 MiB and more, and many small planes.
const FORWARD = { large: 1.15, small: 1.5 };
const BACKWARD = { large: 1.7, small: 2.2 };
const ISA_SLACK = 1.03;        // best ISA / next lower ISA, 1 thread, every shape and pass
const TWO_THREADS = { bar: 1.6, shapes: ['cyclegan_64x256x256', 'train_8x128x64x64'] };
const PER_CALL_US = { bar: 1, shape: 'tiny_3x32x32' };
const JS_VS_YARDSTICK = 2;     // the JS fallback / a plain JS loop, worst shape
// bench:family
export const LAYOUT_BAR = 1.3; // channels-last / channels-first time, instance and group norm
export const LAYOUT_REQUIRED = ['in', 'gn'];
const LN_ROWS = { case: 'ln 8x512x768 rank1', forward: 1.3, backward: 2.0 };

const atMost = (what, value, bar) => ({ what, value, bar, ok: value <= bar });
const atLeast = (what, value, bar) => ({ what, value, bar, ok: value >= bar, atLeast: true });

/** npm run bench: `results` as latest.json holds them. */
export function instanceTargets(results, { shapes, passes, isas, cores }) {
  const find = (shape, pass, pred) => results.find((r) => r.shape === shape && r.pass === pass && pred(r));
  const native = (isa, threads) => (r) => r.group === 'instnorm' && r.impl.includes(' native ') && r.isa === isa && r.threads === threads;
  const checks = [];
  for (const shape of shapes) {
    for (const pass of passes) {
      const r = find(shape, pass, native(isas[0], 1));
      if (!r) continue;
      const small = planeOf(r.dims) < 1024;
      if (small || r.bytes >= 2 * MiB) {
        const bar = (pass === 'forward' ? FORWARD : BACKWARD)[small ? 'small' : 'large'];
        checks.push(atMost(`${shape} ${pass}: ${isas[0]} 1 thread, x memcpy`, r.xMemcpy, bar));
      }
      const lower = isas[1] && find(shape, pass, native(isas[1], 1));
      if (lower) checks.push(atMost(`${shape} ${pass}: ${isas[0]} / ${isas[1]} time, 1 thread`, r.medianMs / lower.medianMs, ISA_SLACK));
      const many = cores > 1 && TWO_THREADS.shapes.includes(shape) && find(shape, pass, native(isas[0], cores));
      if (many) checks.push(atLeast(`${shape} ${pass}: ${cores} threads speed-up`, r.medianMs / many.medianMs, TWO_THREADS.bar));
      if (shape === PER_CALL_US.shape && pass === 'forward') {
        checks.push(atMost(`${shape} forward: time per call (us)`, r.medianMs * 1000, PER_CALL_US.bar));
      }
    }
  }
  for (const pass of passes) {
    const ratios = shapes.map((s) => {
      const j = find(s, pass, (r) => r.impl === 'instnorm js fallback');
      const p = find(s, pass, (r) => r.impl === 'plain JS loop (yardstick)');
      return j && p ? j.medianMs / p.medianMs : null;
    }).filter((v) => v != null);
    if (ratios.length) checks.push(atMost(`JS fallback / plain JS loop, ${pass} (worst shape)`, Math.max(...ratios), JS_VS_YARDSTICK));
  }
  return checks;
}

/** npm run bench:family: the layout ratios (reports.mjs) and layer norm on transformer rows. */
export function familyTargets(results, layoutRatios, best) {
  const checks = [];
  for (const l of layoutRatios.filter((q) => q.required)) {
    checks.push(atMost(`${l.case}${l.variant ? ` ${l.variant}` : ''} ${l.pass}: NHWC / NCHW time, 1 thread`, l.ratio, LAYOUT_BAR));
  }
  for (const pass of ['forward', 'backward']) {
    const r = results.find((q) => q.case === LN_ROWS.case && q.pass === pass && q.group === 'instnorm' && q.backend === 'native'
      && q.isa === best && q.threads === 1);
    if (r) checks.push(atMost(`${LN_ROWS.case} ${pass}: ${best} 1 thread, x memcpy`, r.xMemcpy, LN_ROWS[pass]));
  }
  return checks;
}

export function printTargets(checks) {
  console.log('\ntargets (this run):');
  for (const c of checks) {
    console.log(`  ${c.ok ? 'met   ' : 'MISSED'} ${c.what}: ${c.value.toFixed(2)} (target ${c.atLeast ? '>=' : '<='} ${c.bar})`);
  }
  const missed = checks.filter((c) => !c.ok).length;
  console.log(`  ${checks.length - missed} met, ${missed} missed${missed ? ' (profile: npm run bench:profile -- --help)' : ''}`);
}
