#!/usr/bin/env node
// Prints bench/results/family-latest.json (written by bench/family.mjs) as
// Markdown: per operation, shape, pass and variant, instnorm native on 1
// thread (channels-first, and channels-last with its ratio to channels-first)
// as time and multiple of memcpy, the all-core speed-up, and how many times
// slower the JS fallback and onnxruntime-node are.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} us` : ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(1)} s`);

export function markdownSummary(report) {
  const { results, machine } = report;
  const best = machine.isas[0];
  const cores = machine.cores;
  const lines = [
    `instnorm family, ${machine.cpu}, ${cores} cores, native ${best}; ${report.quick ? 'quick run, ' : ''}${report.date.slice(0, 10)}${report.merged ? ` (cases from ${report.merged.length} runs)` : ''}`,
    '',
    `| case | pass | memcpy | 1t NCHW (x memcpy) | 1t NHWC (x memcpy) | NHWC / NCHW | ${cores}t speed-up | JS fallback | onnxruntime-node 1t |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of report.cases) {
    for (const pass of ['forward', 'backward']) {
      const rs = results.filter((r) => r.case === c.id && r.pass === pass);
      const memcpy = rs.find((r) => r.group === 'baseline');
      if (!memcpy) continue;
      const variants = [...new Set(rs.filter((r) => r.group === 'instnorm').map((r) => r.variant))];
      for (const v of variants) {
        const pick = (pred) => rs.find((r) => r.variant === v && pred(r));
        const first = pick((r) => r.backend === 'native' && r.threads === 1 && r.layout !== 'NHWC');
        if (!first) continue;
        const last = pick((r) => r.backend === 'native' && r.threads === 1 && r.layout === 'NHWC');
        const many = pick((r) => r.backend === 'native' && r.threads === cores && cores > 1 && r.layout !== 'NHWC');
        const js = pick((r) => r.backend === 'js' && r.layout !== 'NHWC');
        const ort = pick((r) => r.group === 'peer');
        const cell = (r) => (r ? `${fmt(r.medianMs)} (${r.xMemcpy.toFixed(2)}x)` : '-');
        const slower = (r) => (r ? `${(r.medianMs / first.medianMs).toFixed(1)}x slower` : '-');
        lines.push(`| ${c.id}${v ? ` ${v}` : ''} | ${pass} | ${fmt(memcpy.medianMs)} | ${cell(first)} | ${cell(last)} | ${last ? (last.medianMs / first.medianMs).toFixed(2) : '-'} | ${many ? (first.medianMs / many.medianMs).toFixed(2) + 'x' : '-'} | ${slower(js)} | ${slower(ort)} |`);
      }
    }
  }
  const req = (report.layoutRatios ?? []).filter((l) => l.required);
  if (req.length) {
    const missed = req.filter((l) => !l.ok);
    lines.push('', `Channels-last instance norm within ${req[0].bar}x of channels-first: ${req.length - missed.length}/${req.length} met` +
      (missed.length ? ` (missed: ${missed.map((l) => `${l.case} ${l.pass} ${l.threads}t ${l.ratio.toFixed(2)}x`).join(', ')})` : '') + '.');
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = process.argv[2] ?? path.join(here, 'results', 'family-latest.json');
  console.log(markdownSummary(JSON.parse(fs.readFileSync(file, 'utf8'))));
}
