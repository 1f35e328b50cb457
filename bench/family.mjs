#!/usr/bin/env node
// npm run bench:family [-- --quick] [-- --ops in,gn,ln,bn,ps,cin,adain,moments]
//                      [-- --no-peers] [-- --no-js] [-- --md] [-- --rounds n] [-- --merge]
//
// Times the normalization family, forward and backward, per operation and
// shape (cases in bench/family-impls.mjs): instnorm native (best ISA, 1
// thread; all cores too for tensors of 1Mi elements or more), channels-first
// vs channels-last, the JS fallback on some cases, onnxruntime-node where it
// has the operator (forward only), and a memcpy of the tensor's bytes. As in
// run.mjs, the rows of a case are interleaved: each round times every row
// once (tinybench), and a row's figure is the median over rounds of its
// per-round median. Peers' and the JS fallback's outputs are checked against
// instnorm native (NHWC outputs transposed back) before timing.
// Prints a table per case and a layout summary (NHWC / NCHW time, with the
// project's bar: channels-last instance norm within 1.3x of channels-first),
// and writes bench/results/family-latest.json (--md: also the Markdown
// summary of bench/family-summary.mjs). --merge replaces only this run's
// cases in an existing family-latest.json (to rerun ops a noisy run spoiled).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, buildCase, caseList, nativeIsas, OP_NAMES, restoreBackend, setThreads } from './family-impls.mjs';
import { markdownSummary } from './family-summary.mjs';
import { cliArgs, fmtTime as fmt, progress, rowTimer } from './timing.mjs';
import { maxAbsDiff } from '../test/helpers/reference.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { flag, value } = cliArgs();

const quick = flag('quick');
const ops = value('ops')?.split(',');
const unknown = ops?.filter((o) => !(o in OP_NAMES));
if (unknown?.length) {
  console.error(`unknown op(s) ${unknown.join(', ')}; expected some of ${Object.keys(OP_NAMES).join(', ')}`);
  process.exit(2);
}
const cases = caseList().filter((c) => (!ops || ops.includes(c.op)) && (!quick || c.quick));
const rounds = Number(value('rounds') ?? (quick ? 3 : 5));
const timeMs = quick ? 25 : 60;
const slowMs = quick ? 100 : 300; // slower rows: one call per round
const verySlowMs = quick ? 1500 : 4000; // slower still: one call in all
const LAYOUT_BAR = 1.3;
const cores = os.availableParallelism();
const isas = nativeIsas();
const env = { best: isas[0], cores, largeNumel: 1 << 20, noPeers: flag('no-peers'), noJs: flag('no-js') };

const fmtTime = (ms) => fmt(ms, 1);
const timeRows = rowTimer({ rounds, timeMs, slowMs, verySlowMs, afterRows: restoreBackend });

/** The native best-ISA 1-thread channels-first row a row is compared with. */
const referenceOf = (rows, r) => rows.find((q) => q.group === 'instnorm' && q.backend === 'native' && q.threads === 1
  && q.variant === r.variant && (q.layout === 'NCHW' || q.layout === null));

const info = backendInfo();
const machine = { cpu: os.cpus()[0]?.model?.trim(), cores, node: process.version, arch: process.arch, isas, backend: info, platform: `${os.type()} ${os.release()}`, loadavg: os.loadavg() };
console.log(`instnorm family bench: ${machine.cpu}, ${cores} cores, Node ${machine.node}; native ISAs: ${isas.join(', ') || 'none'}${quick ? ' (quick)' : ''}; ${cases.length} cases, ${rounds} rounds`);
if (info.name !== 'native') console.log(`note: the library is on its JS backend (${info.reason}); native rows are skipped`);

const results = [];
const notes = [];
const started = performance.now();
let step = 0;
const totalSteps = cases.reduce((s, c) => s + (c.forwardOnly ? 1 : 2), 0);
for (const c of cases) {
  const built = await buildCase(c, env);
  notes.push(...built.notes.map((n) => `${c.id}: ${n}`));
  const { rows } = built;
  const passes = c.forwardOnly ? ['forward'] : ['forward', 'backward'];
  // Outputs against the native 1-thread channels-first row of the same variant.
  const diffs = new Map();
  for (const pass of passes) {
    const outs = new Map();
    for (const r of rows.filter((q) => q.group !== 'baseline' && typeof q[pass] === 'function')) {
      await r.select?.();
      const out = await r[pass]();
      outs.set(r.name, built.canonical(r, out).slice());
    }
    restoreBackend();
    for (const r of rows) {
      const ref = referenceOf(rows, r);
      if (!ref || ref === r || !outs.has(r.name) || !outs.has(ref.name)) continue;
      diffs.set(`${r.name}|${pass}`, maxAbsDiff(outs.get(r.name), outs.get(ref.name)));
    }
  }
  for (const pass of passes) {
    step++;
    const passRows = rows.filter((r) => typeof r[pass] === 'function');
    const times = await timeRows(passRows, pass, `[${step}/${totalSteps}] ${c.id} ${pass}`);
    const memcpy = times.get(rows[0].name).ms;
    const traffic = (pass === 'forward' ? (c.op === 'moments' ? 1 : 2) : 3) * built.bytes;
    for (const r of passRows) {
      const { ms, samples } = times.get(r.name);
      const ref = referenceOf(passRows, r);
      results.push({
        op: c.op, case: c.id, shape: c.shape, shapeName: c.shapeName ?? null, bytes: built.bytes, pass,
        impl: r.name, group: r.group, backend: r.backend ?? (r.group === 'peer' ? 'onnxruntime-node' : null),
        isa: r.isa ?? null, threads: r.threads, layout: r.layout ?? null, variant: r.variant ?? null,
        medianMs: ms, samples, gbPerS: traffic / (ms * 1e6), xMemcpy: ms / memcpy,
        xInstnorm: ref && r.group !== 'baseline' ? ms / times.get(ref.name).ms : null,
        maxAbsDiffVsInstnorm: diffs.get(`${r.name}|${pass}`) ?? null,
      });
    }
  }
  built.dispose();
}
if (isas[0]) setThreads(cores);
progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);

// Tables: one block per case and pass.
for (const c of cases) {
  for (const pass of ['forward', 'backward']) {
    const rs = results.filter((r) => r.case === c.id && r.pass === pass);
    if (rs.length === 0) continue;
    console.log(`\n${OP_NAMES[c.op]}: ${c.id}${c.shapeName ? ` (${c.shapeName})` : ''}, ${(rs[0].bytes / 2 ** 20).toFixed(2)} MiB, ${pass}`);
    console.log(`  ${'implementation'.padEnd(44)} ${'median'.padStart(10)} ${'GB/s'.padStart(6)} ${'x memcpy'.padStart(9)} ${'x ref'.padStart(7)}  note`);
    for (const r of rs) {
      const note = [r.samples === 1 ? 'one sample (slow)' : '', r.maxAbsDiffVsInstnorm != null ? `max|out - ref| ${r.maxAbsDiffVsInstnorm.toExponential(1)}` : ''].filter(Boolean).join('; ');
      console.log(`  ${r.impl.padEnd(44)} ${fmtTime(r.medianMs).padStart(10)} ${r.gbPerS.toFixed(1).padStart(6)} ${r.xMemcpy.toFixed(2).padStart(9)} ${(r.xInstnorm == null ? '' : r.xInstnorm.toFixed(2)).padStart(7)}  ${note}`);
    }
  }
}
console.log('\n(x ref: time / native 1-thread channels-first time of the same variant; max|out - ref|: forward output or dx vs that row)');
for (const n of new Set(notes)) console.log(`note: ${n}`);

// Channels-last vs channels-first, per case, pass, variant and native thread count.
const layoutRatios = [];
for (const c of cases.filter((q) => q.layouts.includes('NHWC') && q.layouts.includes('NCHW'))) {
  for (const pass of ['forward', 'backward']) {
    const rs = results.filter((r) => r.case === c.id && r.pass === pass && r.group === 'instnorm' && r.backend === 'native');
    for (const a of rs.filter((r) => r.layout === 'NCHW')) {
      const b = rs.find((r) => r.layout === 'NHWC' && r.variant === a.variant && r.threads === a.threads);
      if (!b) continue;
      const ratio = b.medianMs / a.medianMs;
      const required = c.op === 'in';
      layoutRatios.push({
        op: c.op, case: c.id, shapeName: c.shapeName ?? null, pass, variant: a.variant, threads: a.threads,
        nchwMs: a.medianMs, nhwcMs: b.medianMs, ratio, bar: LAYOUT_BAR, required, ok: ratio <= LAYOUT_BAR,
      });
    }
  }
}
if (layoutRatios.length) {
  console.log(`\nchannels-last / channels-first time (native ${isas[0]}; bar <= ${LAYOUT_BAR} required for instance norm, shown for the others):`);
  console.log(`  ${'case'.padEnd(40)} ${'pass'.padEnd(8)} ${'thr'.padStart(3)} ${'NCHW'.padStart(10)} ${'NHWC'.padStart(10)} ${'ratio'.padStart(6)}`);
  for (const l of layoutRatios) {
    const status = l.ok ? 'met' : 'MISSED';
    console.log(`  ${`${l.case}${l.variant ? ` ${l.variant}` : ''}`.padEnd(40)} ${l.pass.padEnd(8)} ${String(l.threads).padStart(3)} ${fmtTime(l.nchwMs).padStart(10)} ${fmtTime(l.nhwcMs).padStart(10)} ${l.ratio.toFixed(2).padStart(6)}  ${l.required ? status : `(${status})`}`);
  }
}

let report = { date: new Date().toISOString(), quick, rounds, timeMsPerTask: timeMs, machine, cases: cases.map((c) => ({ op: c.op, id: c.id, shape: c.shape, shapeName: c.shapeName ?? null })), results, layoutRatios, notes: [...new Set(notes)] };
const outDir = path.join(here, 'results');
fs.mkdirSync(outDir, { recursive: true });
const outFile = path.join(outDir, 'family-latest.json');
if (flag('merge') && fs.existsSync(outFile)) {
  // Replace this run's cases in the previous report (e.g. after rerunning the ops a disturbed run spoiled).
  const old = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  const ids = new Set(cases.map((c) => c.id));
  const order = new Map(caseList().map((c, i) => [c.id, i]));
  const byOrder = (a, b) => (order.get(a.id ?? a.case) ?? 1e9) - (order.get(b.id ?? b.case) ?? 1e9);
  report = {
    ...report,
    merged: [...(old.merged ?? [{ date: old.date, rounds: old.rounds, quick: old.quick }]), { date: report.date, rounds, quick, cases: [...ids] }],
    cases: [...old.cases.filter((c) => !ids.has(c.id)), ...report.cases].sort(byOrder),
    results: [...old.results.filter((r) => !ids.has(r.case)), ...results].sort(byOrder),
    layoutRatios: [...(old.layoutRatios ?? []).filter((r) => !ids.has(r.case)), ...layoutRatios].sort(byOrder),
    notes: [...new Set([...old.notes.filter((n) => !ids.has(n.split(':')[0])), ...notes])],
  };
}
fs.writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
console.log(`\nwrote ${path.relative(process.cwd(), outFile)}`);
if (flag('md')) console.log(`\n${markdownSummary(report)}`);
