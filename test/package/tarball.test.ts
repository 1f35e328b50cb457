// What the packed tarball holds: both prebuilds, within the glibc floor;
// the entry points and their types; no test sources, source maps or build
// leftovers; no install lifecycle script; at most 2 runtime dependencies.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { record, workDir } from './scratch';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const floor = require('../../scripts/symbol-floor.js') as {
  FLOOR: Record<string, string>;
  compare(a: string, b: string): number;
  aboveFloor(file: string): string[];
  highestVersions(file: string): Record<string, string>;
};

const PREBUILDS = ['prebuilds/linux-x64/instnorm.napi.glibc.node', 'prebuilds/linux-arm64/instnorm.napi.glibc.node'];

describe('the packed tarball', () => {
  const tarball = inject('tarball');
  const work = workDir('tarball');
  let files: string[] = [];
  let pkg: Record<string, any> = {};
  const unpacked = path.join(work.dir, 'package');

  beforeAll(() => {
    execFileSync('tar', ['-xzf', tarball, '-C', work.dir]);
    const walk = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(unpacked, path.join(d, e.name))]);
    files = walk(unpacked).sort();
    pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8'));
    record('tarball', { file: path.basename(tarball), bytes: fs.statSync(tarball).size, files: files.length,
      unpackedBytes: files.reduce((s, f) => s + fs.statSync(path.join(unpacked, f)).size, 0) });
  });
  afterAll(() => work.cleanup());

  it('ships both Linux prebuilds, each within the GLIBC/GLIBCXX floor', () => {
    expect(files).toEqual(expect.arrayContaining(PREBUILDS));
    const machines: Record<string, string> = {};
    for (const f of PREBUILDS) {
      const file = path.join(unpacked, f);
      expect(floor.aboveFloor(file), `${f} needs symbol versions above ${JSON.stringify(floor.FLOOR)}`).toEqual([]);
      const top = floor.highestVersions(file);
      // The floor the issue sets: what Node 20's own Linux binaries need.
      expect(floor.compare(top.GLIBC, '2.28')).toBeLessThanOrEqual(0);
      expect(floor.compare(top.GLIBCXX, '3.4.21')).toBeLessThanOrEqual(0);
      machines[f] = execFileSync('file', ['-b', file], { encoding: 'utf8' }).split(',')[1].trim();
      record(`floor ${f}`, top);
    }
    expect(machines[PREBUILDS[0]]).toBe('x86-64');
    expect(machines[PREBUILDS[1]]).toBe('ARM aarch64');
  });

  it('has the entry points, their separate types, the CLI, the license and the README chart', () => {
    for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/cli/main.js',
      'dist/js-fallback-figure.json', 'LICENSE', 'README.md', 'bench/results/latest.svg', 'binding.gyp', 'CMakeLists.txt']) {
      expect(files).toContain(f);
    }
    expect(pkg.exports['.']).toEqual({
      import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
      require: { types: './dist/index.d.ts', default: './dist/index.js' },
    });
    expect(pkg.bin).toEqual({ instnorm: 'dist/cli/main.js' });
    expect(fs.readFileSync(path.join(unpacked, 'dist/cli/main.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    const readme = fs.readFileSync(path.join(unpacked, 'README.md'), 'utf8');
    for (const [, src] of readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) {
      // Relative images resolve on the registry page through "repository", and in the package itself.
      if (!/^https?:/.test(src)) expect(files).toContain(src);
    }
  });

  it('says where the project lives', () => {
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\//);
    expect(pkg.license).toBe('MIT');
  });

  it('holds no test sources, source maps, install script or build leftovers', () => {
    expect(files.filter((f) => f.startsWith('native/test/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /sourceMappingURL/.test(fs.readFileSync(path.join(unpacked, f), 'latin1')))).toEqual([]);
    expect(files.filter((f) => /^(build|build-cmake|build-prebuild|build-tests|test|scripts|\.tmp)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.(tgz|log|o|a)$/.test(f))).toEqual([]);
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts?.[s]).toBeUndefined();
    // Without this, npm gives a package with a binding.gyp an implicit `node-gyp rebuild` install script.
    expect(pkg.gypfile).toBe(false);
  });

  it('has at most 2 runtime dependencies, none of them a build tool', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    expect(deps.length).toBeLessThanOrEqual(2);
    for (const tool of ['cmake-js', 'node-gyp', 'typescript', 'bindings', 'prebuildify']) expect(deps).not.toContain(tool);
    expect(pkg.peerDependencies).toBeUndefined();
    record('dependencies', deps);
  });
});
