#!/usr/bin/env node
// Prints bench/results/latest.json as the Markdown table the README shows:
// per shape and pass, time as a multiple of memcpy (1 thread), the
// multi-thread speed-up, and how many times slower each peer is.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const r = JSON.parse(fs.readFileSync(path.join(here, 'results', 'latest.json'), 'utf8'));
const best = r.machine.isas[0];
const cores = r.machine.cores;
const shapes = [...new Set(r.results.map((x) => x.shape))];
const get = (shape, pass, impl) => r.results.find((x) => x.shape === shape && x.pass === pass && x.impl === impl);
const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} us` : ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(1)} s`);
const peers = ['instnorm js fallback', 'onnxruntime-node 1t', 'tfjs-wasm (moments+affine)', 'tfjs-cpu (moments+affine)'];
console.log(`| shape | pass | memcpy | instnorm ${best} 1t (x memcpy) | ${cores}t speed-up | ${peers.map((p) => p.replace(' (moments+affine)', '')).join(' | ')} |`);
console.log(`|---|---|---|---|---|${peers.map(() => '---').join('|')}|`);
for (const s of shapes) {
  for (const pass of ['forward', 'backward']) {
    const m = get(s, pass, 'memcpy (Float32Array#set)');
    const one = get(s, pass, `instnorm native ${best} 1t`);
    if (!m || !one) continue;
    const many = get(s, pass, `instnorm native ${best} ${cores}t`);
    const cells = peers.map((p) => { const q = get(s, pass, p); return q ? `${(q.medianMs / one.medianMs).toFixed(1)}x slower` : '-'; });
    console.log(`| ${s} | ${pass} | ${fmt(m.medianMs)} | ${fmt(one.medianMs)} (${one.xMemcpy.toFixed(2)}x) | ${many ? (one.medianMs / many.medianMs).toFixed(2) + 'x' : '-'} | ${cells.join(' | ')} |`);
  }
}
