// Scratch projects outside the checkout (so nothing resolves from the
// project's node_modules) into which the packed tarball is installed as a
// user would, and a PATH that holds node, npm and npx only: no compiler,
// make, python or cmake, so nothing can be built during an install.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** A fresh temporary folder for one test file (removed by `cleanup`). */
export function workDir(label: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `instnorm-${label}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function which(name: string): string | null {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(d, name);
    if (d && fs.existsSync(f)) return fs.realpathSync(f);
  }
  return null;
}

/** A folder with only node, npm, npx and sh (npx runs bins through sh), for PATH. */
export function toolFreeBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const name of ['npm', 'npx', 'sh']) {
    const target = which(name);
    if (!target) throw new Error(`${name} is not on PATH`);
    fs.symlinkSync(target, path.join(bin, name));
  }
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  return bin;
}

/** True if a program of this name is on the given PATH. */
export function onPath(name: string, PATH: string): boolean {
  return PATH.split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, name)));
}

/**
 * The environment of a user's shell: no npm_* variables inherited from the
 * npm script that runs the tests, no INSTNORM_* settings, and the given PATH.
 */
export function userEnv(PATH: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|INSTNORM_|VITEST|NODE_OPTIONS$|NODE_PATH$)/i.test(k)) env[k] = v;
  }
  return { ...env, PATH, ...extra };
}

export interface Run { status: number | null; stdout: string; stderr: string; ms: number }

export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const t0 = performance.now();
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/** A new project with a package.json, and the tarball installed with these npm flags. */
export function installInto(dir: string, tarball: string, flags: string[], env: NodeJS.ProcessEnv): Run {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }, null, 2));
  return run('npm', ['install', '--no-audit', '--no-fund', ...flags, tarball], dir, env);
}

/**
 * A consumer script: loads instnorm (require or import), runs an instance
 * norm and checks it against a float64 reference; prints JSON.
 */
export function probeSource(kind: 'cjs' | 'esm'): string {
  const load = kind === 'cjs' ? "const lib = require('instnorm');" : "import * as lib from 'instnorm';";
  return `${load}
const shape = [2, 3, 257];
const x = Float32Array.from({ length: 2 * 3 * 257 }, (_, i) => 5 + Math.sin(i * 0.7) * 2);
const gamma = Float32Array.of(1, 2, 0.5), beta = Float32Array.of(0, 1, -1);
const y = lib.instanceNorm(x, shape, { gamma, beta });
let err = 0;
for (let p = 0; p < 6; p++) {
  const v = x.subarray(p * 257, (p + 1) * 257);
  const mu = v.reduce((a, b) => a + b, 0) / 257;
  const r = 1 / Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / 257 + 1e-5);
  for (let i = 0; i < 257; i++) err = Math.max(err, Math.abs(y[p * 257 + i] - (gamma[p % 3] * (v[i] - mu) * r + beta[p % 3])));
}
console.log(JSON.stringify({ backend: lib.backend(), maxError: err }));
`;
}

/** Figures for the closing report, gathered in test-results/package-report.json. */
export function record(key: string, value: unknown): void {
  const file = path.join(repoRoot, 'test-results', 'package-report.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  all[key] = value;
  fs.writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}
