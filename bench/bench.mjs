#!/usr/bin/env node
// The benchmark runner. `npm run bench` (bench/run.mjs) runs the instance
// suite, `npm run bench:family` (bench/family.mjs) the family suite; both
// take the same options:
//
//   --suite instance|family   which cases and report (see cases.mjs, reports.mjs)
//   --ops in,gn,ln,bn,ps,cin,adain,moments,rms   only these operations
//   --shapes a,b,...          only these shapes: names from shapes.json, case ids
//                             ("ln 8x512x768 rank1") or dims ("8x512x768"; dims no
//                             case has are run for every selected op)
//   --quick                   fewer cases (when --shapes is not given) and rounds
//   --pass forward|backward   one pass only
//   --no-peers --no-js        leave out onnxruntime-node/TF.js, the JS fallback
//   --rounds n                interleaved rounds (default 4 instance, 5 family; quick 2, 3)
//   --out dir                 where the results go (default bench/results)
//   --merge --md              family: merge into family-latest.json, print Markdown
//
// Each case's rows are timed in interleaved rounds (timing.mjs: each round
// times every row once with tinybench, a row's figure is the median over
// rounds of its per-round median) next to a memcpy of the same bytes, so all
// ratios come from one run. Before timing, every row's forward output (and
// every instnorm row's dx) is compared with instnorm native's, best ISA, 1
// thread, channels-first (NHWC outputs transposed back).
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toNCHW } from '../test/helpers/data.mjs';
import { maxAbsDiff } from '../test/helpers/metrics.mjs';
import { adHocCase, familyCases, instanceCases, OP_NAMES, SHAPES, tensors, unavailableOp } from './cases.mjs';
import { familyReport, instanceReport } from './reports.mjs';
import { backendInfo, instRows, memcpyRow, nativeIsas, peerRows, plainJsRow, restoreBackend } from './rows.mjs';
import { cliArgs, progress, rowTimer } from './timing.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// Per suite: cases, how rows are made, timing ([full run, --quick]), report.
const SUITES = {
  instance: {
    cases: instanceCases, report: instanceReport,
    recipe: { prefix: 'instnorm', allCores: 'always', isaSweep: true, yardstick: true, peers: 'instance' },
    rounds: [4, 2], timeMs: [80, 25], slowMs: [400, 150], verySlowMs: [4000, 1500],
  },
  family: {
    cases: familyCases, report: familyReport,
    recipe: { prefix: null, allCores: 'large', isaSweep: false, yardstick: false, peers: 'family' },
    rounds: [5, 3], timeMs: [60, 25], slowMs: [300, 100], verySlowMs: [4000, 1500],
  },
};

class UsageError extends Error {}

/** The cases the options select, and notes on what was left out. */
function selectCases(suiteName, ops, shapes, quick) {
  const all = SUITES[suiteName].cases();
  const badOps = ops?.filter((o) => !(o in OP_NAMES)) ?? [];
  if (badOps.length) throw new UsageError(`unknown op(s) ${badOps.join(', ')}; expected some of ${Object.keys(OP_NAMES).join(', ')}`);
  let cases = all.filter((c) => !ops || ops.includes(c.op));
  if (shapes) {
    const dimsOf = (s) => (/^\d+(x\d+)+$/.test(s) ? s.split('x').map(Number) : null);
    const bad = shapes.filter((s) => !dimsOf(s) && !(s in SHAPES) && !all.some((c) => c.id === s));
    if (bad.length) throw new UsageError(`unknown shape(s) ${bad.join(', ')}; give names from bench/shapes.json (${Object.keys(SHAPES).join(', ')}), case ids or dims like 8x512x768`);
    const picked = cases.filter((c) => shapes.some((s) => s === c.id || s === c.shapeName || s === c.shape.join('x')));
    // Shapes no selected case has: new cases for every selected op.
    for (const s of shapes) {
      if (picked.some((c) => s === c.id || s === c.shapeName || s === c.shape.join('x')) || all.some((c) => c.id === s)) continue;
      const dims = dimsOf(s) ?? SHAPES[s];
      const shapeName = s in SHAPES ? s : undefined;
      for (const op of ops ?? (suiteName === 'instance' ? ['in'] : Object.keys(OP_NAMES))) {
        if (dims.length < (op === 'ln' || op === 'rms' ? 1 : 3)) continue;
        picked.push({ ...adHocCase(op, dims, suiteName), ...(shapeName ? { shapeName } : {}) });
      }
    }
    cases = picked;
  } else if (quick) cases = cases.filter((c) => c.quick);
  const notes = [];
  cases = cases.filter((c) => {
    const why = unavailableOp(c.op);
    if (why) notes.push(`${c.id}: not run (${why})`);
    return !why;
  });
  if (cases.length === 0) throw new UsageError(`no cases selected${notes.length ? ` (${notes.join('; ')})` : ''}`);
  return { cases, notes };
}

/** Output of a row in NCHW order (NHWC outputs transposed back; TF.js gradients: dx), for comparisons. */
function canonical(t, row, out) {
  const o = Array.isArray(out) ? out[0] : out;
  return row.layout === 'NHWC' && o.length === t.numel ? toNCHW(o, t.shape) : o;
}

export async function main(argv = process.argv.slice(2)) {
  const { flag, value } = cliArgs(argv);
  const suiteName = value('suite') ?? 'family';
  const suite = SUITES[suiteName];
  if (!suite) throw new UsageError(`--suite must be one of ${Object.keys(SUITES).join(', ')}`);
  const quick = flag('quick');
  const q = quick ? 1 : 0;
  const { cases, notes } = selectCases(suiteName, value('ops')?.split(','), value('shapes')?.split(','), quick);
  const passes = value('pass') ? [value('pass')] : ['forward', 'backward'];
  if (passes.some((p) => p !== 'forward' && p !== 'backward')) throw new UsageError('--pass must be forward or backward');
  const rounds = Number(value('rounds') ?? suite.rounds[q]);
  const timeMs = suite.timeMs[q];
  const cores = os.availableParallelism();
  const isas = nativeIsas();
  const env = { best: isas[0], isas, cores, largeNumel: 1 << 20, noPeers: flag('no-peers'), noJs: flag('no-js') };
  const timeRows = rowTimer({ rounds, timeMs, slowMs: suite.slowMs[q], verySlowMs: suite.verySlowMs[q], afterRows: () => restoreBackend() });

  const info = backendInfo();
  const machine = { cpu: os.cpus()[0]?.model?.trim(), cores, node: process.version, arch: process.arch, isas, backend: info, platform: `${os.type()} ${os.release()}` };
  const loadavg = os.loadavg();
  console.log(`${suite.report.title}: ${machine.cpu}, ${cores} cores, Node ${machine.node}; native ISAs: ${isas.join(', ') || 'none'}${quick ? ' (quick)' : ''}; ${cases.length} cases, ${rounds} rounds`);
  if (info.name !== 'native') console.log(`note: the library is on its JS backend (${info.reason}); native rows are skipped`);

  const results = [];
  const started = performance.now();
  let step = 0;
  const totalSteps = cases.reduce((s, c) => s + passes.filter((p) => p === 'forward' || !c.forwardOnly).length, 0);
  for (const c of cases) {
    const t = tensors(c.shape, c.layouts.includes('NHWC'));
    const make = c.build(t);
    const rows = [memcpyRow(t)];
    if (suite.recipe.yardstick && c.op === 'in') rows.push(plainJsRow(t));
    rows.push(...instRows(c, t, make, env, suite.recipe));
    const peers = await peerRows(c, t, env, suite.recipe);
    rows.push(...peers.rows);
    notes.push(...peers.notes.map((n) => `${c.id}: ${n}`));
    restoreBackend();
    const casePasses = passes.filter((p) => p === 'forward' || !c.forwardOnly);
    // The row every other is compared with: native, best ISA, 1 thread, channels-first, same variant.
    const referenceOf = (rs, r) => rs.find((q) => q.group === 'instnorm' && q.backend === 'native' && q.isa === env.best && q.threads === 1
      && q.variant === r.variant && (q.layout === 'NCHW' || q.layout === null));
    const diffs = new Map();
    for (const pass of casePasses) {
      const outs = new Map();
      for (const r of rows.filter((q) => q.group !== 'baseline' && typeof q[pass] === 'function' && (pass === 'forward' || q.group === 'instnorm'))) {
        await r.select?.();
        outs.set(r.name, canonical(t, r, await r[pass]()).slice());
      }
      restoreBackend();
      for (const r of rows) {
        const ref = referenceOf(rows, r);
        if (ref && ref !== r && outs.has(r.name) && outs.has(ref.name)) diffs.set(`${r.name}|${pass}`, maxAbsDiff(outs.get(r.name), outs.get(ref.name)));
      }
    }
    for (const pass of casePasses) {
      step++;
      const passRows = rows.filter((r) => typeof r[pass] === 'function');
      const times = await timeRows(passRows, pass, `[${step}/${totalSteps}] ${c.id} ${pass}`);
      const memcpy = times.get(rows[0].name).ms;
      // Bytes that must move: forward reads x and writes y (moments only reads); backward reads dy and x and writes dx.
      const traffic = (pass === 'forward' ? (c.op === 'moments' ? 1 : 2) : 3) * t.numel * 4;
      for (const r of passRows) {
        const { ms, samples } = times.get(r.name);
        const ref = referenceOf(passRows, r);
        // x instnorm: against the best ISA on the same thread count (else 1), same layout (if the row has one) and variant.
        const best = (th) => passRows.find((q) => q.group === 'instnorm' && q.backend === 'native' && q.isa === env.best && q.threads === th
          && (r.layout == null || q.layout === r.layout) && q.variant === r.variant);
        const same = best(r.threads) ?? best(1);
        results.push({
          op: c.op, case: c.id, shape: c.shape, shapeName: c.shapeName ?? null, bytes: t.numel * 4, pass,
          impl: r.name, group: r.group, backend: r.backend ?? null,
          isa: r.isa ?? null, threads: r.threads, layout: r.layout ?? null, variant: r.variant ?? null,
          medianMs: ms, samples, gbPerS: traffic / (ms * 1e6), xMemcpy: ms / memcpy,
          xInstnorm: ref && r.group !== 'baseline' ? ms / times.get(ref.name).ms : null,
          instnormSpeedup: same ? ms / times.get(same.name).ms : null,
          maxAbsDiffVsInstnorm: diffs.get(`${r.name}|${pass}`) ?? null,
        });
      }
    }
    rows.forEach((r) => r.dispose?.());
  }
  restoreBackend(cores);
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);

  const run = {
    date: new Date().toISOString(), quick, rounds, timeMs, machine, loadavg, cases, passes, results, notes,
    outDir: path.resolve(value('out') ?? path.join(here, 'results')),
  };
  suite.report.write(run, { merge: flag('merge'), md: flag('md') });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e instanceof UsageError ? e.message : e);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}

export { UsageError };
