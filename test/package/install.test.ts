// The tarball installed as a user would, with npm's defaults, with
// --ignore-scripts and with --strict-allow-scripts, each with a PATH that has
// no compiler, make, python or cmake: every one loads the prebuilt native
// addon, computes a correct instance norm and prints nothing on stderr, from
// CommonJS and from ESM; a TypeScript consumer type-checks under strict
// settings with node16 and with bundler resolution.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installInto, onPath, probeSource, record, repoRoot, run, toolFreeBin, userEnv, workDir } from './scratch';

const MODES: Array<[string, string[]]> = [
  ['npm defaults', []],
  ['--ignore-scripts', ['--ignore-scripts']],
  ['--strict-allow-scripts', ['--strict-allow-scripts']],
];

const work = workDir('install');
let PATH = '';
beforeAll(() => {
  PATH = toolFreeBin(work.dir);
});
afterAll(() => work.cleanup());

describe.each(MODES)('npm install <tarball> (%s), no build tools on PATH', (mode, flags) => {
  const dir = path.join(work.dir, mode.replace(/\W+/g, '-'));
  const tarball = inject('tarball');

  it('installs without building anything, with at most 2 other packages', () => {
    for (const tool of ['cc', 'gcc', 'g++', 'c++', 'clang', 'make', 'python3', 'python', 'cmake']) {
      expect(onPath(tool, PATH), `${tool} on the test PATH`).toBe(false);
    }
    const r = installInto(dir, tarball, flags, userEnv(PATH));
    expect(r.stderr).not.toMatch(/ERR!|ESTRICTALLOWSCRIPTS/);
    expect(r.status).toBe(0);
    const pkgDir = path.join(dir, 'node_modules', 'instnorm');
    expect(fs.existsSync(path.join(pkgDir, 'build'))).toBe(false);
    expect(fs.existsSync(path.join(pkgDir, 'build-cmake'))).toBe(false);
    const others = fs.readdirSync(path.join(dir, 'node_modules')).filter((n) => !n.startsWith('.') && n !== 'instnorm');
    expect(others.length).toBeLessThanOrEqual(2);
    record(`install ${mode}`, { seconds: +(r.ms / 1000).toFixed(1), packages: others.length + 1, others });
  });

  it.each(['cjs', 'esm'] as const)('%s: native backend from the prebuilt binary, correct result, no warning', (kind) => {
    const file = path.join(dir, kind === 'cjs' ? 'probe.cjs' : 'probe.mjs');
    fs.writeFileSync(file, probeSource(kind));
    const r = run('node', [file], dir, userEnv(PATH));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.backend.name).toBe('native');
    expect(out.maxError).toBeLessThan(1e-5);
  });

  it('`npx instnorm info` reports the prebuilt binary', () => {
    const r = run('npx', ['--no-install', 'instnorm', 'info', '--json'], dir, userEnv(PATH));
    expect(r.stderr).toBe('');
    const info = JSON.parse(r.stdout);
    expect(info.backend.name).toBe('native');
    expect(info.binary.source).toBe('prebuilt');
    expect(info.binary.file).toBe(path.join(fs.realpathSync(dir), 'node_modules/instnorm/prebuilds', `linux-${process.arch}`, 'instnorm.napi.glibc.node'));
  });
});

describe('a strict TypeScript consumer', () => {
  const dir = path.join(work.dir, 'npm-defaults');
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const source = (load: string) => `${load}
const x: Float32Array = new Float32Array([1, 2, 3, 4]);
const y: Float32Array = instanceNorm(x, [1, 1, 4], { eps: 1e-5 });
const g: { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } = instanceNormBackward(y, x, [1, 1, 4]);
const info: BackendInfo = backend();
const name: 'native' | 'js' = info.name;
const p: Promise<Float32Array> = instanceNormAsync(x, [1, 1, 4]);
// @ts-expect-error: a shape is an array of numbers
instanceNorm(x, '1,1,4');
export { g, name, p };
`;
  const compile = (files: Record<string, string>, compilerOptions: Record<string, unknown>) => {
    const sub = path.join(dir, `ts-${String(compilerOptions.moduleResolution)}`);
    fs.mkdirSync(sub, { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(sub, name), text);
    fs.writeFileSync(path.join(sub, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, types: [], target: 'ES2022', ...compilerOptions },
      files: Object.keys(files),
    }));
    return run(process.execPath, [tsc, '-p', sub], sub, userEnv(process.env.PATH ?? ''));
  };

  it('type-checks with module/moduleResolution node16: ESM (.mts) and CommonJS (.cts) files', () => {
    const esm = "import { instanceNorm, instanceNormBackward, instanceNormAsync, backend, type BackendInfo } from 'instnorm';\n" +
      "import lib from 'instnorm';\nconst viaDefault: typeof instanceNorm = lib.instanceNorm;\nexport { viaDefault };\n";
    const cjs = "import { instanceNorm, instanceNormBackward, instanceNormAsync, backend, type BackendInfo } from 'instnorm';\n" +
      "import lib = require('instnorm');\nconst viaRequire: typeof instanceNorm = lib.instanceNorm;\nexport { viaRequire };\n";
    const r = compile({ 'esm.mts': source(esm), 'cjs.cts': source(cjs) }, { module: 'node16', moduleResolution: 'node16' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('type-checks with moduleResolution bundler', () => {
    const load = "import { instanceNorm, instanceNormBackward, instanceNormAsync, backend, type BackendInfo } from 'instnorm';\n";
    const r = compile({ 'index.ts': source(load) }, { module: 'preserve', moduleResolution: 'bundler' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
