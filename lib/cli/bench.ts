/**
 * `npx instnorm bench [--quick]`: times instance norm forward and backward on
 * this machine, on the backend that loads here (1 thread and all cores) and
 * on the pure-JS backend, against a memcpy of the same bytes. Each backend
 * runs in its own process (bench_child.ts), one after the other.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchRow, BenchSpec } from './bench_child';

const FULL: number[][] = [[1, 3, 32, 32], [1, 128, 64, 64], [1, 32, 256, 256], [8, 128, 64, 64]];
const QUICK: number[][] = [[1, 3, 32, 32], [1, 128, 64, 64]];

function side(spec: BenchSpec, env: NodeJS.ProcessEnv): { backend: { name: string; isa: string | null }; rows: BenchRow[] } {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'bench_child.js'), JSON.stringify(spec)], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`instnorm bench: the benchmark process failed (exit code ${r.status})`);
  return JSON.parse(r.stdout);
}

function fmt(us: number | undefined): string {
  if (us === undefined) return '-';
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`;
}

export function runBench(opts: { json: boolean; quick: boolean }): number {
  const spec: BenchSpec = opts.quick
    ? { shapes: QUICK, batches: 5, batchMs: 5, warmupMs: 100, threads: true }
    : { shapes: FULL, batches: 9, batchMs: 20, warmupMs: 300, threads: true };
  const log = (s: string) => (opts.json ? console.error(s) : console.log(s));
  const env = { ...process.env };
  delete env.INSTNORM_BACKEND;
  log(`instnorm bench${opts.quick ? ' --quick' : ''}: ${spec.shapes.length} shapes, median of ${spec.batches} batches per figure`);
  const loaded = side(spec, env);
  const js = loaded.backend.name === 'js' ? loaded : side({ ...spec, threads: false }, { ...env, INSTNORM_BACKEND: 'js' });
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const machine = { cpu, cores: os.availableParallelism(), node: process.versions.node, arch: process.arch, backend: loaded.backend };
  const rows = loaded === js ? loaded.rows : [...loaded.rows, ...js.rows.filter((r) => r.impl === 'js')];
  if (opts.json) {
    console.log(JSON.stringify({ quick: opts.quick, machine, rows }, null, 2));
    return 0;
  }
  const b = loaded.backend;
  console.log(`${cpu}, ${machine.cores} cores, Node ${machine.node}; loaded backend: ${b.name}${b.isa ? ` (${b.isa})` : ''}`);
  const threads = [...new Set(rows.filter((r) => r.impl === 'native').map((r) => r.threads))];
  const head = ['shape', 'pass', 'memcpy', ...threads.map((t) => `native ${t}t`), 'js', 'js / native 1t'];
  const table = [head];
  const slow: number[] = [];
  for (const shape of spec.shapes) {
    for (const pass of ['forward', 'backward'] as const) {
      const pick = (impl: string, t = 1) =>
        rows.find((r) => r.shape.join() === shape.join() && r.pass === pass && r.impl === impl && r.threads === t)?.usPerCall;
      const memcpy = rows.find((r) => r.shape.join() === shape.join() && r.impl === 'memcpy')?.usPerCall;
      const n1 = pick('native'), j = pick('js');
      if (n1 !== undefined && j !== undefined) slow.push(j / n1);
      table.push([shape.join('x'), pass, fmt(memcpy), ...threads.map((t) => fmt(pick('native', t))), fmt(j),
        n1 !== undefined && j !== undefined ? `${(j / n1).toFixed(1)}x` : '-']);
    }
  }
  const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  if (slow.length > 0) {
    console.log(`The JS backend is ${Math.min(...slow).toFixed(1)}-${Math.max(...slow).toFixed(1)}x slower than native (1 thread) on this machine.`);
  } else {
    console.log('The native addon is not loaded here: only the JS backend was timed (`npx instnorm info` says why).');
  }
  return 0;
}
