// How a run is reported, per suite: the table layout, and what is written.
// 'instance' (npm run bench): per shape, time, GB/s, x memcpy and x instnorm
// (the best ISA on the same thread count), the project's speed bars,
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

/** The speed bars of the project (see README, Performance), checked on this run. */
function speedBars(results, shapes, passes, isas, cores) {
  const find = (shape, pass, pred) => results.find((r) => r.shape === shape && r.pass === pass && pred(r));
  const best1 = (r) => r.group === 'instnorm' && r.isa === isas[0] && r.threads === 1;
  const checks = [];
  for (const shapeName of shapes) {
    for (const pass of passes) {
      const r = find(shapeName, pass, best1);
      if (!r || r.bytes < 2 * MiB) continue;
      const big = r.bytes >= 48 * MiB;
      const bar = pass === 'forward' ? (big ? 1.6 : 1.25) : (big ? 2.4 : 1.8);
      checks.push({ what: `${shapeName} ${pass}, 1 thread, x memcpy`, value: r.xMemcpy, bar, ok: r.xMemcpy <= bar });
    }
  }
  const tiny = find('tiny_3x32x32', 'forward', best1);
  if (tiny) checks.push({ what: 'tiny_3x32x32 forward per call (us)', value: tiny.medianMs * 1000, bar: 2, ok: tiny.medianMs * 1000 <= 2 });
  const c1 = find('cyclegan_64x256x256', 'forward', best1);
  const cN = find('cyclegan_64x256x256', 'forward', (r) => r.group === 'instnorm' && r.isa === isas[0] && r.threads === cores && cores > 1);
  if (c1 && cN) checks.push({ what: `cyclegan_64x256x256 forward, ${cores} threads speed-up`, value: c1.medianMs / cN.medianMs, bar: 1.6, ok: c1.medianMs / cN.medianMs >= 1.6, atLeast: true });
  for (const pass of passes) {
    const ratios = shapes.map((s) => {
      const j = find(s, pass, (r) => r.impl === 'instnorm js fallback');
      const p = find(s, pass, (r) => r.impl === 'plain JS loop (yardstick)');
      return j && p ? j.medianMs / p.medianMs : null;
    }).filter((v) => v != null);
    if (ratios.length) checks.push({ what: `JS fallback / plain JS loop, ${pass} (worst shape)`, value: Math.max(...ratios), bar: 2, ok: Math.max(...ratios) <= 2 });
  }
  return checks;
}

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
    const checks = speedBars(results, run.cases.map((c) => c.shapeName ?? c.id), run.passes, run.machine.isas, run.machine.cores);
    console.log('\nspeed bars (this run):');
    for (const c of checks) console.log(`  ${c.ok ? 'met   ' : 'MISSED'} ${c.what}: ${c.value.toFixed(2)} (bar ${c.atLeast ? '>=' : '<='} ${c.bar})`);
    const report = { date: run.date, quick: run.quick, rounds: run.rounds, timeMsPerTask: run.timeMs, machine: run.machine, results, checks, notes: [...new Set(run.notes)] };
    writeJson(path.join(run.outDir, 'latest.json'), report);
    fs.writeFileSync(path.join(run.outDir, 'latest.svg'), chartSvg(report));
    console.log(`\nwrote ${path.relative(process.cwd(), path.join(run.outDir, 'latest.json'))} and latest.svg`);
  },
};

// ---------------------------------------------------------------------------

const LAYOUT_BAR = 1.3;

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
          nchwMs: a.medianMs, nhwcMs: b.medianMs, ratio, bar: LAYOUT_BAR, required: c.op === 'in', ok: ratio <= LAYOUT_BAR,
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
      console.log(`\nchannels-last / channels-first time (native ${run.machine.isas[0]}; bar <= ${LAYOUT_BAR} required for instance norm, shown for the others):`);
      console.log(`  ${'case'.padEnd(40)} ${'pass'.padEnd(8)} ${'thr'.padStart(3)} ${'NCHW'.padStart(10)} ${'NHWC'.padStart(10)} ${'ratio'.padStart(6)}`);
      for (const l of ratios) {
        const status = l.ok ? 'met' : 'MISSED';
        console.log(`  ${`${l.case}${l.variant ? ` ${l.variant}` : ''}`.padEnd(40)} ${l.pass.padEnd(8)} ${String(l.threads).padStart(3)} ${fmt(l.nchwMs).padStart(10)} ${fmt(l.nhwcMs).padStart(10)} ${l.ratio.toFixed(2).padStart(6)}  ${l.required ? status : `(${status})`}`);
      }
    }
    const results = run.results.map(({ instnormSpeedup, ...r }) => r);
    const cases = run.cases.map((c) => ({ op: c.op, id: c.id, shape: c.shape, shapeName: c.shapeName ?? null }));
    let report = { date: run.date, quick: run.quick, rounds: run.rounds, timeMsPerTask: run.timeMs, machine: { ...run.machine, loadavg: run.loadavg }, cases, results, layoutRatios: ratios, notes: [...new Set(run.notes)] };
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
