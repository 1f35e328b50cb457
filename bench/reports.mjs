// How a run is reported, per suite: the table layout, and what is written.
// 'instance' (npm run bench): per shape, time, GB/s, x memcpy and x instnorm
// (the best ISA on the same thread count), the targets (targets.mjs),
// bench/results/latest.json and latest.svg. 'family' (npm run bench:family):
// per case, x ref (native 1-thread channels-first of the same variant), the
// channels-last / channels-first ratios, bench/results/family-latest.json
// (--merge: replace only this run's cases in it; --md: print the Markdown
// summary).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chartSvg } from './chart.mjs';
import { familyCases, OP_NAMES } from './cases.mjs';
import { markdownSummary } from './family-summary.mjs';
import { familyTargets, instanceTargets, LAYOUT_BAR, LAYOUT_REQUIRED, printTargets } from './targets.mjs';
import { fmtTime } from './timing.mjs';

const MiB = 2 ** 20;

function printTables(run, t) {
  for (const c of run.cases) {
    for (const pass of ['forward', 'backward']) {
      const rs = run.results.filter((r) => r.case === c.id && r.pass === pass);
      if (rs.length === 0) continue;
      console.log(`\n${t.header(c, rs[0].bytes, pass)}`);
      console.log(`  ${'implementation'.padEnd(t.width)} ${'median'.padStart(10)} ${'GB/s'.padStart(6)} ${'x memcpy'.padStart(9)} ${t.ratioName.padStart(t.ratioWidth)}  note`);
      for (const r of rs) {
        const note = [r.samples === 1 ? 'one sample (slow)' : '', r.maxAbsDiffVsInstnorm != null ? `${t.diffName(pass)} ${r.maxAbsDiffVsInstnorm.toExponential(1)}` : ''].filter(Boolean).join('; ');
        console.log(`  ${r.impl.padEnd(t.width)} ${fmtTime(r.medianMs, t.usDigits).padStart(10)} ${r.gbPerS.toFixed(1).padStart(6)} ${r.xMemcpy.toFixed(2).padStart(9)} ${t.ratio(r).padStart(t.ratioWidth)}  ${note}`);
      }
    }
  }
}

function writeJson(file, report) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}

// ---------------------------------------------------------------------------

export const instanceReport = {
  title: 'instnorm bench',
  table: {
    header: (c, bytes, pass) => `${c.shapeName ?? c.id} [${c.shape.join('x')}] ${(bytes / MiB).toFixed(2)} MiB, ${pass}`,
    width: 34, usDigits: 2, ratioName: 'x instnorm', ratioWidth: 11, diffName: (pass) => (pass === 'forward' ? 'max|y - instnorm|' : 'max|dx - instnorm|'),
    ratio: (r) => (r.instnormSpeedup == null ? '' : `${r.instnormSpeedup.toFixed(2)}x`),
  },
  write(run) {
    printTables(run, this.table);
    for (const n of new Set(run.notes)) console.log(`note: ${n}`);
    // The records as `npm run bench` has always written them (summary.mjs and chart.mjs read these).
    const results = run.results.map((r) => ({
      shape: r.shapeName ?? r.case, dims: r.shape, bytes: r.bytes, pass: r.pass, impl: r.impl, group: r.group, isa: r.isa,
      threads: r.threads, medianMs: r.medianMs, samples: r.samples, gbPerS: r.gbPerS, xMemcpy: r.xMemcpy,
      instnormSpeedup: r.instnormSpeedup, maxAbsDiffVsInstnorm: r.maxAbsDiffVsInstnorm,
    }));
    const checks = instanceTargets(results, { shapes: run.cases.map((c) => c.shapeName ?? c.id), passes: run.passes, isas: run.machine.isas, cores: run.machine.cores });
    printTargets(checks);
    const report = { date: run.date, quick: run.quick, rounds: run.rounds, timeMsPerTask: run.timeMs, machine: run.machine, results, checks, notes: [...new Set(run.notes)] };
    writeJson(path.join(run.outDir, 'latest.json'), report);
    fs.writeFileSync(path.join(run.outDir, 'latest.svg'), chartSvg(report));
    console.log(`\nwrote ${path.relative(process.cwd(), path.join(run.outDir, 'latest.json'))} and latest.svg`);
  },
};

// ---------------------------------------------------------------------------

/** Channels-last vs channels-first, per case, pass, variant and native thread count. */
function layoutRatios(run) {
  const out = [];
  for (const c of run.cases.filter((q) => q.layouts.includes('NHWC') && q.layouts.includes('NCHW'))) {
    for (const pass of ['forward', 'backward']) {
      const rs = run.results.filter((r) => r.case === c.id && r.pass === pass && r.group === 'instnorm' && r.backend === 'native');
      for (const a of rs.filter((r) => r.layout === 'NCHW')) {
        const b = rs.find((r) => r.layout === 'NHWC' && r.variant === a.variant && r.threads === a.threads && r.isa === a.isa);
        if (!b) continue;
        const ratio = b.medianMs / a.medianMs;
        out.push({
          op: c.op, case: c.id, shapeName: c.shapeName ?? null, pass, variant: a.variant, threads: a.threads,
          nchwMs: a.medianMs, nhwcMs: b.medianMs, ratio, bar: LAYOUT_BAR, required: LAYOUT_REQUIRED.includes(c.op) && a.threads === 1, ok: ratio <= LAYOUT_BAR,
        });
      }
    }
  }
  return out;
}

export const familyReport = {
  title: 'instnorm family bench',
  table: {
    header: (c, bytes, pass) => `${OP_NAMES[c.op]}: ${c.id}${c.shapeName ? ` (${c.shapeName})` : ''}, ${(bytes / MiB).toFixed(2)} MiB, ${pass}`,
    width: 44, usDigits: 1, ratioName: 'x ref', ratioWidth: 7, diffName: () => 'max|out - ref|',
    ratio: (r) => (r.xInstnorm == null ? '' : r.xInstnorm.toFixed(2)),
  },
  write(run, { merge, md }) {
    printTables(run, this.table);
    console.log('\n(x ref: time / native 1-thread channels-first time of the same variant; max|out - ref|: forward output or dx vs that row)');
    for (const n of new Set(run.notes)) console.log(`note: ${n}`);
    const ratios = layoutRatios(run);
    if (ratios.length) {
      const fmt = (ms) => fmtTime(ms, 1);
      console.log(`\nchannels-last / channels-first time (native ${run.machine.isas[0]}; target <= ${LAYOUT_BAR} for ${LAYOUT_REQUIRED.join(', ')} on 1 thread, shown for the others):`);
      console.log(`  ${'case'.padEnd(40)} ${'pass'.padEnd(8)} ${'thr'.padStart(3)} ${'NCHW'.padStart(10)} ${'NHWC'.padStart(10)} ${'ratio'.padStart(6)}`);
      for (const l of ratios) {
        const status = l.ok ? 'met' : 'MISSED';
        console.log(`  ${`${l.case}${l.variant ? ` ${l.variant}` : ''}`.padEnd(40)} ${l.pass.padEnd(8)} ${String(l.threads).padStart(3)} ${fmt(l.nchwMs).padStart(10)} ${fmt(l.nhwcMs).padStart(10)} ${l.ratio.toFixed(2).padStart(6)}  ${l.required ? status : `(${status})`}`);
      }
    }
    const results = run.results.map(({ instnormSpeedup, ...r }) => r);
    const checks = familyTargets(results, ratios, run.machine.isas[0]);
    if (checks.length) printTargets(checks);
    const cases = run.cases.map((c) => ({ op: c.op, id: c.id, shape: c.shape, shapeName: c.shapeName ?? null }));
    let report = { date: run.date, quick: run.quick, rounds: run.rounds, timeMsPerTask: run.timeMs, machine: { ...run.machine, loadavg: run.loadavg }, cases, results, layoutRatios: ratios, checks, notes: [...new Set(run.notes)] };
    const outFile = path.join(run.outDir, 'family-latest.json');
    if (merge && fs.existsSync(outFile)) report = merged(JSON.parse(fs.readFileSync(outFile, 'utf8')), report);
    writeJson(outFile, report);
    console.log(`\nwrote ${path.relative(process.cwd(), outFile)}`);
    if (md) console.log(`\n${markdownSummary(report)}`);
  },
};

/** This run's cases replace theirs in the previous report (e.g. after rerunning the ops a disturbed run spoiled). */
function merged(old, report) {
  const ids = new Set(report.cases.map((c) => c.id));
  const order = new Map(familyCases().map((c, i) => [c.id, i]));
  const byOrder = (a, b) => (order.get(a.id ?? a.case) ?? 1e9) - (order.get(b.id ?? b.case) ?? 1e9);
  return {
    ...report,
    merged: [...(old.merged ?? [{ date: old.date, rounds: old.rounds, quick: old.quick }]), { date: report.date, rounds: report.rounds, quick: report.quick, cases: [...ids] }],
    cases: [...old.cases.filter((c) => !ids.has(c.id)), ...report.cases].sort(byOrder),
    results: [...old.results.filter((r) => !ids.has(r.case)), ...report.results].sort(byOrder),
    layoutRatios: [...(old.layoutRatios ?? []).filter((r) => !ids.has(r.case)), ...report.layoutRatios].sort(byOrder),
    notes: [...new Set([...old.notes.filter((n) => !ids.has(n.split(':')[0])), ...report.notes])],
  };
}
