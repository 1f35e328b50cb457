#!/usr/bin/env node
// `npm run prebuild` (run by `npm pack` / `npm publish` through prepack):
// builds the addon from the current source for each target with the
// project's own build (cmake-js + CMakeLists.txt), in build-prebuild/<target>/,
// and puts it where the loader looks for it (node-gyp-build's layout):
//   prebuilds/<platform>-<arch>/instnorm.napi[.glibc|.musl].node
// N-API makes one binary per platform and architecture serve every Node
// version; the dispatcher picks the ISA at run time, so it serves every CPU.
//
//   npm run prebuild                       default targets (below)
//   npm run prebuild -- --target linux-arm64 [--target ...]
//   node scripts/prebuild.js --clean       removes prebuilds/ and build-prebuild/
//                                          (postpack: a checkout loads its own build)
//
// Default targets: on a Linux x64 or arm64 host, linux-x64 and linux-arm64,
// the other architecture cross-compiled with Debian's g++-<triple>; on any
// other host (macOS, Windows, musl), the host's own platform-arch. Only the
// files built are replaced: binaries another machine made for other
// platforms or the other libc (see .github/workflows/prebuild.yml) stay and
// are packed too.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { FLOOR, aboveFloor, highestVersions } = require('./symbol-floor');

const root = path.join(__dirname, '..');

// Linux cross compilers (Debian/Ubuntu package names).
const LINUX_CROSS = {
  x64: { triple: 'x86_64-linux-gnu', processor: 'x86_64', apt: 'g++-x86-64-linux-gnu' },
  arm64: { triple: 'aarch64-linux-gnu', processor: 'aarch64', apt: 'g++-aarch64-linux-gnu' },
};

function fail(msg) {
  console.error(`prebuild: ${msg}`);
  process.exit(1);
}

function hostLibc() {
  if (process.platform !== 'linux') return null;
  return process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
}

function onPath(name) {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  return (process.env.PATH || '').split(path.delimiter).some((d) =>
    exts.some((e) => d && fs.existsSync(path.join(d, name + e))));
}

function defaultTargets() {
  const host = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux' && hostLibc() === 'glibc' && process.arch in LINUX_CROSS) {
    return Object.keys(LINUX_CROSS).map((arch) => `linux-${arch}`);
  }
  return [host];
}

/** cmake-js arguments for one target; exits with what to install if a compiler is missing. */
function cmakeArgs(target, outDir) {
  const [platform, arch] = target.split('-');
  if (platform !== process.platform) fail(`${target}: build it on ${platform} (this is ${process.platform})`);
  const args = ['rebuild', '-O', outDir, '--arch', arch];
  if (platform === 'linux' && arch !== process.arch) {
    const cross = LINUX_CROSS[arch];
    if (!cross || hostLibc() !== 'glibc') fail(`${target}: no cross build from ${process.platform}-${process.arch} (${hostLibc()})`);
    const cxx = `${cross.triple}-g++`;
    if (!onPath(cxx)) {
      fail(
        `${target} is cross-compiled with ${cxx}, which is not on PATH. Install it with ` +
          `\`apt-get install ${cross.apt}\` (Debian/Ubuntu), or build only this machine's target with ` +
          `\`npm run prebuild -- --target ${process.platform}-${process.arch}\` (the package then lacks ${target}).`,
      );
    }
    args.push('--cxx', cxx, '--CDCMAKE_SYSTEM_NAME=Linux', `--CDCMAKE_SYSTEM_PROCESSOR=${cross.processor}`);
  }
  return args;
}

function build(target, cmakeJs) {
  const [platform, arch] = target.split('-');
  const outDir = path.join('build-prebuild', target);
  const args = cmakeArgs(target, outDir);
  console.log(`prebuild: ${target}: cmake-js ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cmakeJs, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`${target}: cmake-js failed (exit code ${r.status}); its output is above`);

  const built = path.join(root, outDir, 'Release', 'instnorm.node');
  if (!fs.existsSync(built)) fail(`${target}: cmake-js succeeded but ${built} does not exist`);
  const libc = platform === 'linux' ? hostLibc() : null;
  if (libc === 'glibc') checkFloor(target, built);

  // Only this file is replaced: the folder may also hold a binary for the
  // other libc (linux-x64 glibc and musl), made on another machine.
  const dir = path.join(root, 'prebuilds', `${platform}-${arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, `instnorm.napi${libc ? `.${libc}` : ''}.node`);
  fs.copyFileSync(built, dest);
  console.log(`prebuild: ${target}: ${path.relative(root, dest)} (${(fs.statSync(dest).size / 1024).toFixed(0)} KiB)`);
}

function checkFloor(target, file) {
  if (!onPath('readelf')) {
    console.warn(`prebuild: ${target}: readelf (binutils) is not on PATH; the glibc floor is not checked here`);
    return;
  }
  const above = aboveFloor(file);
  if (above.length > 0) {
    fail(
      `${target} needs symbol versions above the floor (${Object.entries(FLOOR).map(([k, v]) => `${k}_${v}`).join(', ')}): ` +
        `${above.join(', ')}. It would not load on older Linux systems; see native/runtime/glibc_floor.h.`,
    );
  }
  const top = highestVersions(file);
  console.log(`prebuild: ${target}: needs ${Object.entries(top).map(([k, v]) => `${k}_${v}`).join(', ')} (floor ok)`);
}

function main(argv) {
  if (argv.includes('--clean')) {
    for (const d of ['prebuilds', 'build-prebuild']) fs.rmSync(path.join(root, d), { recursive: true, force: true });
    return;
  }
  const targets = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target' && argv[i + 1]) targets.push(argv[++i]);
    else fail(`unknown argument ${argv[i]} (usage: prebuild.js [--target <platform>-<arch>]... | --clean)`);
  }
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    fail('cmake-js is not installed: run `npm ci` (it is a devDependency)');
  }
  for (const t of targets.length > 0 ? targets : defaultTargets()) build(t, cmakeJs);
}

main(process.argv.slice(2));
