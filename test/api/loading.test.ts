// How the library loads: backend selection from the environment, the JS
// fallback when the addon is missing (a failed or skipped build), CommonJS
// and ESM entry points, and use from worker_threads. Each case runs in a
// child process so that the load-time choice is made afresh.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');

// Prints backend() and a checksum-free result (the first outputs of a
// deterministic forward and backward) as JSON.
const PROBE = `
const lib = require(process.argv[1]);
const shape = [2, 3, 17];
const x = Float32Array.from({ length: 102 }, (_, i) => 1e4 + Math.sin(i * 1.7) * 3);
const dy = Float32Array.from({ length: 102 }, (_, i) => Math.cos(i * 0.3));
const gamma = Float32Array.of(1, 2, 0.5), beta = Float32Array.of(0, 1, -1);
const y = lib.instanceNorm(x, shape, { gamma, beta });
const g = lib.instanceNormBackward(dy, x, shape, { gamma });
console.log(JSON.stringify({ backend: lib.backend(), y: Array.from(y), dx: Array.from(g.dx), dgamma: Array.from(g.dgamma) }));
`;

interface ProbeResult { backend: { name: string; isa: string | null; threads: number; reason?: string }; y: number[]; dx: number[]; dgamma: number[] }

function run(entry: string, env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, ['-e', PROBE, entry], {
    env: { ...process.env, INSTNORM_BACKEND: undefined, INSTNORM_ISA: undefined, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, result: r.status === 0 ? (JSON.parse(r.stdout) as ProbeResult) : null };
}

function close(a: number[], b: number[], tol: number): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])));
}

describe('backend selection', () => {
  it('loads the native addon by default and reports the best ISA', () => {
    const r = run(root);
    expect(r.status).toBe(0);
    expect(r.result!.backend.name).toBe('native');
    expect(['avx512', 'avx2', 'neon', 'scalar']).toContain(r.result!.backend.isa);
    expect(r.result!.backend.threads).toBeGreaterThanOrEqual(1);
    expect(r.stderr).not.toMatch(/INSTNORM_JS_FALLBACK/);
  });

  it('in a checkout, the addon is the local build (prebuilds/ exists only while `npm pack` runs)', () => {
    const info = JSON.parse(execFileSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'info', '--json'], {
      encoding: 'utf8', env: { ...process.env, INSTNORM_BACKEND: undefined, INSTNORM_ISA: undefined },
    }));
    expect(fs.existsSync(path.join(root, 'prebuilds')), 'prebuilds/ in the checkout would be loaded before the build under test: remove it (node scripts/prebuild.js --clean)').toBe(false);
    expect(info.binary.source).toMatch(/^(cmake-js|node-gyp) build$/);
    expect(info.backend.name).toBe('native');
  });

  it('INSTNORM_BACKEND=js forces the fallback, silently, with a reason and the same results', () => {
    const native = run(root).result!;
    const r = run(root, { INSTNORM_BACKEND: 'js' });
    expect(r.stderr).toBe('');
    expect(r.result!.backend).toEqual({ name: 'js', isa: null, threads: 1, reason: 'INSTNORM_BACKEND=js' });
    expect(close(r.result!.y, native.y, 1e-5)).toBe(true);
    expect(close(r.result!.dx, native.dx, 1e-5)).toBe(true);
    expect(close(r.result!.dgamma, native.dgamma, 1e-5)).toBe(true);
  });

  it('INSTNORM_ISA=scalar caps the dispatch', () => {
    expect(run(root, { INSTNORM_ISA: 'scalar' }).result!.backend).toEqual({ name: 'native', isa: 'scalar', threads: os.availableParallelism() });
  });

  it('INSTNORM_THREADS sets the initial thread count; a bad value is a load error', () => {
    expect(run(root, { INSTNORM_THREADS: '3' }).result!.backend.threads).toBe(3);
    expect(run(root, { INSTNORM_THREADS: '1' }).result!.backend.threads).toBe(1);
    for (const bad of ['0', 'many', '2.5', '5000']) {
      const r = run(root, { INSTNORM_THREADS: bad });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/INSTNORM_THREADS/);
    }
  });

  it('an INSTNORM_ISA above what the CPU has falls back to the best it has', () => {
    const best = run(root).result!.backend.isa;
    const top = process.arch === 'arm64' ? 'neon' : 'avx512';
    expect(run(root, { INSTNORM_ISA: top }).result!.backend.isa).toBe(best);
  });

  it.each([
    [{ INSTNORM_ISA: 'sse9' }, /INSTNORM_ISA=sse9 is not an ISA name/],
    [{ INSTNORM_ISA: process.arch === 'arm64' ? 'avx2' : 'neon' }, /does not exist on this CPU architecture/],
    [{ INSTNORM_BACKEND: 'gpu' }, /INSTNORM_BACKEND=gpu is not valid/],
  ])('a bad environment %j is a clear error at load', (env, message) => {
    const r = run(root, env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('without the addon (a failed or skipped build)', () => {
  // A copy of the package as `npm install --ignore-scripts` leaves it: the
  // compiled library, no build folders. It lives inside the project so that
  // its dependencies resolve from the project's node_modules.
  const pkg = path.join(root, '.tmp', `no-addon-${process.pid}`);
  beforeAll(() => {
    fs.rmSync(pkg, { recursive: true, force: true });
    fs.mkdirSync(pkg, { recursive: true });
    fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  });
  afterAll(() => fs.rmSync(pkg, { recursive: true, force: true }));

  it('require() works, runs on JS, warns once, says why, and gives the native results', () => {
    const native = run(root).result!;
    const r = run(pkg);
    expect(r.status).toBe(0);
    expect(r.result!.backend.name).toBe('js');
    expect(r.result!.backend.reason).toMatch(/^no native binary loaded on \S+ .*: prebuilds\/: .*; build-cmake\/, build\/: no local build from source$/);
    expect(r.stderr.match(/INSTNORM_JS_FALLBACK/g)?.length).toBe(1);
    expect(r.stderr).toMatch(/x slower \(instance norm .*bench\/results\/latest\.json of \d{4}-\d\d-\d\d\)/);
    expect(r.stderr).toContain('Fix: run `npx instnorm build`');
    expect(close(r.result!.y, native.y, 1e-5)).toBe(true);
    expect(close(r.result!.dx, native.dx, 1e-5)).toBe(true);
  });

  it('INSTNORM_REQUIRE_NATIVE=1 turns the fallback into a load error', () => {
    const r = run(pkg, { INSTNORM_REQUIRE_NATIVE: '1' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/INSTNORM_REQUIRE_NATIVE=1, but no native binary loaded on .*Fix: run `npx instnorm build`/);
  });

  it('INSTNORM_BACKEND=native is a load error', () => {
    const r = run(pkg, { INSTNORM_BACKEND: 'native' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/INSTNORM_BACKEND=native, but no native binary loaded on /);
  });

  it('warns once per process, also when worker threads load the library too', () => {
    const r = spawnSync(process.execPath, ['-e', `
      const { Worker } = require('node:worker_threads');
      require(${JSON.stringify(pkg)});
      const src = 'require(require("node:worker_threads").workerData).instanceNorm(new Float32Array(4), [1, 1, 4])';
      for (let i = 0; i < 2; i++) new Worker(src, { eval: true, workerData: ${JSON.stringify(pkg)} });
    `], { encoding: 'utf8', env: { ...process.env, INSTNORM_BACKEND: undefined } });
    expect(r.status).toBe(0);
    expect(r.stderr.match(/INSTNORM_JS_FALLBACK/g)?.length).toBe(1);
  });
});

describe('entry points and threads', () => {
  it('ESM import gives the same functions as require', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
      import { instanceNorm, instanceNormBackward, backend } from 'instnorm';
      import lib from 'instnorm';
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('instnorm');
      const y = instanceNorm(new Float32Array([1, 2, 3, 4]), [1, 2, 2]);
      console.log(JSON.stringify({ same: instanceNorm === cjs.instanceNorm && lib.backend === backend,
        types: [typeof instanceNormBackward, typeof backend], y: Array.from(y) }));
    `], { cwd: root, encoding: 'utf8' });
    const r = JSON.parse(out);
    expect(r.same).toBe(true);
    expect(r.types).toEqual(['function', 'function']);
    expect(r.y[0]).toBeCloseTo(-1, 3);
  });

  it('terminating a worker while its async call is in flight leaves the process running', () => {
    const r = spawnSync(process.execPath, ['-e', `
      const { Worker } = require('node:worker_threads');
      const src = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const lib = require(workerData.root);
        lib.setThreads(1);
        const x = new Float32Array(1 << 22).fill(1.5);
        for (let i = 0; i < 8; i++) lib.instanceNormAsync(x, [1, 4, 1 << 20]);
        parentPort.postMessage('queued');
      \`;
      const w = new Worker(src, { eval: true, workerData: { root: ${JSON.stringify(root)} } });
      w.on('message', async () => {
        await w.terminate();
        const lib = require(${JSON.stringify(root)});
        console.log('alive', lib.instanceNorm(new Float32Array([1, 2, 3, 4]), [1, 1, 4])[0].toFixed(3));
      });
    `], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/FATAL/);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('alive -1.342');
  });

  it('loads and computes in several worker_threads at once (context-aware addon)', () => {
    const out = execFileSync(process.execPath, ['-e', `
      const { Worker } = require('node:worker_threads');
      const src = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const lib = require(workerData.root);
        const x = Float32Array.from({ length: 3 * 1000 }, (_, i) => Math.sin(i * workerData.k));
        const y = lib.instanceNorm(x, [1, 3, 1000]);
        parentPort.postMessage({ backend: lib.backend().name, y0: y[0], y9: y[2999] });
      \`;
      const lib = require(${JSON.stringify(root)});
      Promise.all([1, 2, 3, 4].map((k) => new Promise((res, rej) => {
        const w = new Worker(src, { eval: true, workerData: { root: ${JSON.stringify(root)}, k } });
        w.on('message', res); w.on('error', rej);
      }))).then((rs) => {
        const ok = rs.every((r, i) => {
          const k = i + 1;
          const x = Float32Array.from({ length: 3000 }, (_, j) => Math.sin(j * k));
          const y = lib.instanceNorm(x, [1, 3, 1000]);
          return r.y0 === y[0] && r.y9 === y[2999] && r.backend === lib.backend().name;
        });
        console.log(JSON.stringify({ ok, n: rs.length }));
      });
    `], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ok: true, n: 4 });
  });
});
