// A platform without a prebuild, simulated by hiding this platform's folder
// of prebuilds/ in an installed copy: the library still works, on the JS backend, and says so
// once with the platform, the real cause, how much slower, and the fix.
// Then the fix: `npx instnorm build` without build tools fails saying what
// to install; with them it builds (npm's node-gyp: the scratch project has
// no cmake-js) and the native addon loads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installInto, probeSource, record, repoRoot, run, toolFreeBin, userEnv, workDir } from './scratch';

const work = workDir('fallback');
const dir = path.join(work.dir, 'project');
const pkgDir = path.join(dir, 'node_modules', 'instnorm');
let PATH = '';
const figure = JSON.parse(fs.readFileSync(path.join(repoRoot, 'dist', 'js-fallback-figure.json'), 'utf8'));

beforeAll(() => {
  PATH = toolFreeBin(work.dir);
  const r = installInto(dir, inject('tarball'), [], userEnv(PATH));
  expect(r.status).toBe(0);
  fs.renameSync(path.join(pkgDir, 'prebuilds', `linux-${process.arch}`), path.join(work.dir, 'hidden-prebuild'));
  fs.writeFileSync(path.join(dir, 'probe.cjs'), probeSource('cjs'));
});
afterAll(() => work.cleanup());

describe('with no prebuilt binary for this platform', () => {
  it('runs on the JS backend, correctly, and warns once: platform, cause, cost, fix', () => {
    const r = run('node', ['probe.cjs'], dir, userEnv(PATH));
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.backend.name).toBe('js');
    expect(out.maxError).toBeLessThan(1e-5);
    expect(r.stderr.match(/INSTNORM_JS_FALLBACK/g)).toHaveLength(1);
    const platform = `linux-${process.arch} (glibc)`;
    const other = process.arch === 'x64' ? 'linux-arm64' : 'linux-x64';
    expect(r.stderr).toContain(`instnorm: no native binary loaded on ${platform}, Node ${process.versions.node}:`);
    expect(r.stderr).toContain(`  prebuilds/: the package has no prebuilt binary for ${platform} (it has ${other})`);
    expect(r.stderr).toContain('  build-cmake/, build/: no local build from source');
    const range = (x: number) => (x < 10 ? x.toFixed(1) : x.toFixed(0));
    expect(r.stderr).toContain(
      `Running on the pure-JS backend instead, ${range(figure.min)}-${range(figure.max)}x slower (${figure.what}; ${figure.source}).`,
    );
    expect(r.stderr).toContain('Fix: run `npx instnorm build`');
    record('fallback warning', r.stderr.trim());
  });

  it('INSTNORM_BACKEND=js chooses the JS backend without a word', () => {
    const r = run('node', ['probe.cjs'], dir, userEnv(PATH, { INSTNORM_BACKEND: 'js' }));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).backend.reason).toBe('INSTNORM_BACKEND=js');
  });

  it('INSTNORM_REQUIRE_NATIVE=1 makes it a load error that says the cause and the fix', () => {
    const r = run('node', ['probe.cjs'], dir, userEnv(PATH, { INSTNORM_REQUIRE_NATIVE: '1' }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/INSTNORM_REQUIRE_NATIVE=1, but no native binary loaded on linux-/);
    expect(r.stderr).toContain('Fix: run `npx instnorm build`');
  });

  it('`npx instnorm build` without build tools fails, saying what is missing and how to install it', () => {
    const r = run('npx', ['--no-install', 'instnorm', 'build'], dir, userEnv(PATH));
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain('instnorm build: node-gyp rebuild');
    expect(r.stderr).toMatch(/the build failed \(node-gyp: exit code \d+\)/);
    expect(r.stderr).toMatch(/Missing from PATH: a C\+\+ compiler \(g\+\+ or clang\+\+\), python3, make\. Install: /);
    expect(r.stderr).toContain('apt-get install g++ make python3');
    record('build without tools (stderr tail)', r.stderr.trim().split('\n').slice(-6).join('\n'));
  });

  it('`npx instnorm build` with build tools builds with npm\'s node-gyp and the native addon loads', () => {
    const r = run('npx', ['--no-install', 'instnorm', 'build'], dir, userEnv(process.env.PATH ?? ''));
    expect(r.stderr).not.toMatch(/the build failed/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/g\+\+|c\+\+|CXX/); // the build's own output is shown
    expect(r.stdout).toContain(`instnorm build: built ${path.join(fs.realpathSync(pkgDir), 'build/Release/instnorm.node')} with node-gyp.`);
    expect(r.stdout).toMatch(/instnorm now loads: native \((avx512|avx2|neon|scalar)\) from node-gyp build/);
    record('npx instnorm build seconds', +(r.ms / 1000).toFixed(1));

    const probe = run('node', ['probe.cjs'], dir, userEnv(PATH));
    expect(probe.stderr).toBe('');
    expect(JSON.parse(probe.stdout).backend.name).toBe('native');
  });
});
