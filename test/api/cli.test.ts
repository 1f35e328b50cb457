// The command line (`npx instnorm ...`, dist/cli/main.js): usage errors, the
// machine-readable info and bench, and how a failed build's log is reduced
// to the lines that carry the error. `build` itself runs in .ci/run (the
// addon CI tests is built with it) and in test/package/fallback.test.ts.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorLines } from '../../lib/cli/build';

const main = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INSTNORM_')));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env, timeout: 120_000 });

describe('npx instnorm', () => {
  it.each([[[]], [['nonsense']], [['info', '--quick']], [['bench', 'extra']]])('%j is a usage error (exit 2) that shows the usage', (args) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Usage: npx instnorm <command>|accepts: /);
  });

  it('--help prints the commands', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    for (const c of ['info', 'build', 'bench [--quick]', '--json']) expect(r.stdout).toContain(c);
  });

  it('info --json: backend, ISAs, binary, platform, versions', () => {
    const r = cli('info', '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const info = JSON.parse(r.stdout);
    expect(info.backend.name).toBe('native');
    expect(info.isas).toContain(info.backend.isa);
    expect(info.binary.file).toMatch(/instnorm(\.napi\.\w+)?\.node$/);
    expect(info.platform).toMatchObject({ os: process.platform, arch: process.arch });
    expect(info.node).toBe(process.versions.node);
    expect(info.napi).toEqual({ node: process.versions.napi, addon: 8 });
    expect(info.attempts).toEqual([]);
  });

  it('info says why on the JS backend', () => {
    const r = spawnSync(process.execPath, [main, 'info'], { encoding: 'utf8', env: { ...env, INSTNORM_BACKEND: 'js' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/backend\s+js \(pure TypeScript\)\nwhy\s+INSTNORM_BACKEND=js/);
  });

  it('bench --quick --json times native (1 and all threads) and JS against memcpy', () => {
    const r = cli('bench', '--quick', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.quick).toBe(true);
    const impls = new Set(out.rows.map((row: { impl: string }) => row.impl));
    expect([...impls].sort()).toEqual(['js', 'memcpy', 'native']);
    for (const row of out.rows) expect(row.usPerCall).toBeGreaterThan(0);
  });
});

describe('a failed build reduced to its error lines', () => {
  it('keeps the compiler error, not the noise around it', () => {
    const log = [
      'gyp info spawn make',
      '  CXX(target) Release/obj.target/instnorm/native/binding.o',
      '../native/binding.cc:7:10: fatal error: napi.h: No such file or directory',
      '    7 | #include <napi.h>',
      'compilation terminated.',
      'make: *** [instnorm.target.mk:120: Release/obj.target/instnorm/native/binding.o] Error 1',
      'gyp ERR! stack Error: `make` failed with exit code: 2',
    ].join('\n');
    expect(errorLines(log)).toEqual(['../native/binding.cc:7:10: fatal error: napi.h: No such file or directory']);
  });

  it('falls back to the build tool\'s own error, then to the end of the log', () => {
    expect(errorLines('gyp info it worked\ngyp ERR! find Python\ngyp ERR! stack Error: Could not find any Python')).toEqual([
      'gyp ERR! stack Error: Could not find any Python',
    ]);
    expect(errorLines('gyp ERR! find Python\ngyp ERR! find Python - "" could not be run')).toHaveLength(2);
    expect(errorLines('a\nb\nc')).toEqual(['a', 'b', 'c']);
  });
});
