#!/usr/bin/env node
// npm run bench [-- --quick] [-- --shapes a,b] [-- --pass forward|backward] [-- --no-peers]
//
// Times instance norm per shape for every row: instnorm native (best ISA on
// 1 and all threads, each lower ISA on 1 thread), the JS fallback, peers
// (onnxruntime-node, TF.js wasm and cpu), a plain-JS yardstick and a memcpy
// of the same bytes (the physical floor). Rows are interleaved: each round
// times every row once (tinybench), and a row's figure is the median over
// rounds of its per-round median, so all ratios come from one run.
// Writes a table to stdout, bench/results/latest.json and latest.svg.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartSvg } from './chart.mjs';
import { cliArgs, fmtTime, progress, rowTimer } from './timing.mjs';
import { backendInfo, jsRow, makeInputs, memcpyRow, nativeIsas, nativeRow, plainJsRow, setThreads } from './impls.mjs';
import { onnxRows } from './peers/onnxruntime.mjs';
import { tfjsRows } from './peers/tfjs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { flag, value } = cliArgs();

const quick = flag('quick');
const QUICK_SHAPES = ['tiny_3x32x32', 'adain_512x32x32', 'cyclegan_64x256x256', 'big_plane_16x1024x1024'];
const shapesFile = JSON.parse(fs.readFileSync(path.join(here, 'shapes.json'), 'utf8'));
const only = value('shapes')?.split(',') ?? (quick ? QUICK_SHAPES : null);
const shapes = Object.entries(shapesFile.shapes).filter(([name]) => !only || only.includes(name));
const passes = value('pass') ? [value('pass')] : ['forward', 'backward'];
const rounds = quick ? 2 : 4;
const timeMs = quick ? 25 : 80;
// A row slower than this per call is timed once per round, without tinybench's minimum iterations.
const slowMs = quick ? 150 : 400;
// ... and a row slower than this is timed once in all (its single sample is reported as such).
const verySlowMs = quick ? 1500 : 4000;
const cores = os.availableParallelism();

const timeRows = rowTimer({ rounds, timeMs, slowMs, verySlowMs });

const info = backendInfo();
const isas = nativeIsas();
const machine = { cpu: os.cpus()[0]?.model?.trim(), cores, node: process.version, arch: process.arch, isas, backend: info, platform: `${os.type()} ${os.release()}` };
console.log(`instnorm bench: ${machine.cpu}, ${cores} cores, Node ${machine.node}; native ISAs: ${isas.join(', ') || 'none'}${quick ? ' (quick)' : ''}`);
if (info.name !== 'native') console.log(`note: the library is on its JS backend (${info.reason}); native rows are skipped`);

const results = [];
const notes = [];
const started = performance.now();
let step = 0;
const totalSteps = shapes.length * passes.length;
for (const [shapeName, shape] of shapes) {
  const inp = makeInputs(shape);
  const bytes = inp.numel * 4;
  const best = isas[0];
  const rows = [memcpyRow(inp), plainJsRow(inp)];
  if (best) {
    rows.push(nativeRow(inp, best, 1));
    if (cores > 1) rows.push(nativeRow(inp, best, cores));
    for (const isa of isas.slice(1)) rows.push(nativeRow(inp, isa, 1));
  }
  rows.push(jsRow(inp));
  if (!flag('no-peers')) {
    for (const peer of [await onnxRows(inp, cores > 1 ? [1, cores] : [1]), await tfjsRows(inp, ['wasm', 'cpu'])]) {
      if (peer.skipped) notes.push(`${shapeName}: ${peer.skipped}`);
      rows.push(...(peer.rows ?? []));
    }
  }
  // Peers must compute the same thing: compare their forward with instnorm's.
  const reference = best ? (await rows[2].select(), rows[2].forward()) : null;
  const agreement = new Map();
  if (reference && passes.includes('forward')) {
    for (const r of rows.filter((q) => q.group === 'peer')) {
      await r.select?.();
      const y = await r.forward();
      let m = 0;
      for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(y[i] - reference[i]));
      agreement.set(r.name, m);
    }
  }
  for (const pass of passes) {
    step++;
    const passRows = rows.filter((r) => typeof r[pass] === 'function');
    const times = await timeRows(passRows, pass, `[${step}/${totalSteps}] ${shapeName} ${pass}`);
    const memcpy = times.get(rows[0].name).ms;
    // Bytes that must move: forward reads x and writes y; backward reads dy and x and writes dx.
    const traffic = (pass === 'forward' ? 2 : 3) * bytes;
    for (const r of passRows) {
      const { ms, samples } = times.get(r.name);
      const same = passRows.find((q) => q.group === 'instnorm' && q.isa === best && q.threads === r.threads)
        ?? passRows.find((q) => q.group === 'instnorm' && q.isa === best && q.threads === 1);
      results.push({
        shape: shapeName, dims: shape, bytes, pass, impl: r.name, group: r.group, isa: r.isa ?? null, threads: r.threads,
        medianMs: ms, samples, gbPerS: traffic / (ms * 1e6), xMemcpy: ms / memcpy,
        instnormSpeedup: same ? ms / times.get(same.name).ms : null,
        maxAbsDiffVsInstnorm: pass === 'forward' ? agreement.get(r.name) ?? null : null,
      });
    }
  }
  rows.forEach((r) => r.dispose?.());
}
if (isas[0]) setThreads(cores);
progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);

// Table: one block per shape and pass.
for (const [shapeName, shape] of shapes) {
  for (const pass of passes) {
    const rs = results.filter((r) => r.shape === shapeName && r.pass === pass);
    if (rs.length === 0) continue;
    console.log(`\n${shapeName} [${shape.join('x')}] ${(rs[0].bytes / 2 ** 20).toFixed(2)} MiB, ${pass}`);
    console.log(`  ${'implementation'.padEnd(34)} ${'median'.padStart(10)} ${'GB/s'.padStart(6)} ${'x memcpy'.padStart(9)} ${'x instnorm'.padStart(11)}  note`);
    for (const r of rs) {
      const note = [r.samples === 1 ? 'one sample (slow)' : '', r.maxAbsDiffVsInstnorm != null ? `max|y - instnorm| ${r.maxAbsDiffVsInstnorm.toExponential(1)}` : ''].filter(Boolean).join('; ');
      console.log(`  ${r.impl.padEnd(34)} ${fmtTime(r.medianMs).padStart(10)} ${r.gbPerS.toFixed(1).padStart(6)} ${r.xMemcpy.toFixed(2).padStart(9)} ${(r.instnormSpeedup == null ? '' : r.instnormSpeedup.toFixed(2) + 'x').padStart(11)}  ${note}`);
    }
  }
}
for (const n of new Set(notes)) console.log(`note: ${n}`);

// The speed bars of the project (see README, Performance), checked on this run.
const find = (shape, pass, pred) => results.find((r) => r.shape === shape && r.pass === pass && pred(r));
const best1 = (r) => r.group === 'instnorm' && r.isa === isas[0] && r.threads === 1;
const checks = [];
for (const [shapeName] of shapes) {
  for (const pass of passes) {
    const r = find(shapeName, pass, best1);
    if (!r || r.bytes < 2 * 2 ** 20) continue;
    const big = r.bytes >= 48 * 2 ** 20;
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
  const ratios = shapes.map(([s]) => {
    const j = find(s, pass, (r) => r.impl === 'instnorm js fallback');
    const p = find(s, pass, (r) => r.impl === 'plain JS loop (yardstick)');
    return j && p ? j.medianMs / p.medianMs : null;
  }).filter((v) => v != null);
  if (ratios.length) checks.push({ what: `JS fallback / plain JS loop, ${pass} (worst shape)`, value: Math.max(...ratios), bar: 2, ok: Math.max(...ratios) <= 2 });
}
console.log('\nspeed bars (this run):');
for (const c of checks) console.log(`  ${c.ok ? 'met   ' : 'MISSED'} ${c.what}: ${c.value.toFixed(2)} (bar ${c.atLeast ? '>=' : '<='} ${c.bar})`);

const report = { date: new Date().toISOString(), quick, rounds, timeMsPerTask: timeMs, machine, results, checks, notes: [...new Set(notes)] };
const outDir = path.join(here, 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
fs.writeFileSync(path.join(outDir, 'latest.svg'), chartSvg(report));
console.log(`\nwrote ${path.relative(process.cwd(), path.join(outDir, 'latest.json'))} and latest.svg`);
