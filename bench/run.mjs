#!/usr/bin/env node
// npm run bench [-- --quick] [-- --shapes a,b] [-- --pass forward|backward]
//
// Times instance norm per shape for every row (each native ISA, the JS
// fallback, and a memcpy of the same bytes as the physical floor), in
// interleaved rounds: each round runs every row once through tinybench and
// the reported time is the median over rounds of each round's median. Ratios
// to memcpy are therefore taken from one run on one machine state.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { backendInfo, jsRow, makeInputs, memcpyRow, nativeIsas, nativeRow } from './impls.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };

const quick = flag('quick');
const shapesFile = JSON.parse(fs.readFileSync(path.join(here, 'shapes.json'), 'utf8'));
const only = value('shapes')?.split(',');
const shapes = Object.entries(shapesFile.shapes).filter(([name]) => !only || only.includes(name));
const passes = value('pass') ? [value('pass')] : ['forward', 'backward'];
const rounds = quick ? 2 : 5;
const timeMs = quick ? 40 : 150;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmtTime = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} us` : `${ms.toFixed(2)} ms`);
const progress = (msg) => { if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`); else process.stderr.write(`${msg}\n`); };

async function timeRows(rows, pass) {
  const samples = new Map(rows.map((r) => [r.name, []]));
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: timeMs, iterations: 3, warmupTime: timeMs / 4, warmupIterations: 2 });
    for (const r of rows) bench.add(r.name, r[pass]);
    await bench.run();
    for (const t of bench.tasks) {
      if (t.result.state !== 'completed') throw new Error(`${t.name}: ${t.result.state} ${t.result.error ?? ''}`);
      samples.get(t.name).push(t.result.latency.p50);
    }
  }
  return new Map([...samples].map(([k, v]) => [k, median(v)]));
}

const info = backendInfo();
const isas = nativeIsas();
const machine = { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version, arch: process.arch, isas, backend: info };
console.log(`instnorm bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; native ISAs: ${isas.join(', ') || 'none'}${quick ? ' (quick)' : ''}`);

const results = [];
let step = 0;
const totalSteps = shapes.length * passes.length;
for (const [shapeName, shape] of shapes) {
  const inp = makeInputs(shape);
  const bytes = inp.numel * 4;
  const rows = [memcpyRow(inp), ...isas.map((isa) => nativeRow(inp, isa)), jsRow(inp)];
  for (const pass of passes) {
    progress(`[${++step}/${totalSteps}] ${shapeName} ${pass}`);
    const times = await timeRows(rows, pass);
    const memcpy = times.get(rows[0].name);
    // Bytes that must move: forward reads x and writes y; backward reads dy
    // and x and writes dx.
    const traffic = (pass === 'forward' ? 2 : 3) * bytes;
    for (const r of rows) {
      const ms = times.get(r.name);
      results.push({ shape: shapeName, dims: shape, bytes, pass, impl: r.name, group: r.group, isa: r.isa ?? null,
        medianMs: ms, gbPerS: traffic / (ms * 1e6), xMemcpy: ms / memcpy });
    }
  }
}
progress('done\n');

// Table: one block per shape and pass.
for (const [shapeName, shape] of shapes) {
  for (const pass of passes) {
    const rs = results.filter((r) => r.shape === shapeName && r.pass === pass);
    const best = rs.filter((r) => r.group === 'instnorm').sort((a, b) => a.medianMs - b.medianMs)[0];
    console.log(`\n${shapeName} [${shape.join('x')}] ${(rs[0].bytes / 2 ** 20).toFixed(1)} MiB, ${pass}`);
    console.log(`  ${'implementation'.padEnd(30)} ${'median'.padStart(10)} ${'GB/s'.padStart(7)} ${'x memcpy'.padStart(9)} ${'best instnorm speed-up'.padStart(23)}`);
    for (const r of rs) {
      console.log(`  ${r.impl.padEnd(30)} ${fmtTime(r.medianMs).padStart(10)} ${r.gbPerS.toFixed(1).padStart(7)} ${r.xMemcpy.toFixed(2).padStart(9)} ${(r.medianMs / best.medianMs).toFixed(2).padStart(22)}x`);
    }
  }
}

const out = path.join(here, 'results', 'latest.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), quick, rounds, timeMsPerTask: timeMs, machine, results }, null, 2) + '\n');
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
