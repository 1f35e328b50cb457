#!/usr/bin/env node
// `npm install` hook: build the native addon with cmake-js, else node-gyp.
// A failed build must not fail the install: the library then runs on its
// pure-JS backend and says so at load (npm 11 hides this script's output,
// so the warning that matters is the one emitted at run time).
//
// INSTNORM_SKIP_BUILD=1 skips the build (JS backend only).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function run(label, args, extraEnv) {
  console.log(`instnorm: building the native addon with ${label}`);
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...extraEnv },
  });
  if (r.status === 0) return true;
  console.warn(`instnorm: ${label} build failed (${r.error ? r.error.message : `exit ${r.status}`})`);
  return false;
}

function resolveFrom(id) {
  try {
    return require.resolve(id, { paths: [root] });
  } catch {
    return null;
  }
}

// node-gyp: the one npm runs install scripts with, else npm's bundled copy.
function nodeGypPath() {
  const candidates = [
    process.env.npm_config_node_gyp,
    resolveFrom('node-gyp/bin/node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && fs.existsSync(p)) ?? null;
}

function main() {
  if (process.env.INSTNORM_SKIP_BUILD === '1') {
    console.log('instnorm: INSTNORM_SKIP_BUILD=1, not building the native addon (JS backend)');
    return;
  }
  const cmakeJs = resolveFrom('cmake-js/bin/cmake-js');
  // cmake-js uses its bundled Node-API headers (package.json "binary"), so
  // it needs no download of Node's headers.
  if (cmakeJs && run('cmake-js', [cmakeJs, 'rebuild', '-O', 'build-cmake'])) return;

  const gyp = nodeGypPath();
  // Local headers, so node-gyp does not try to download them: npm's nodedir,
  // else the headers installed beside this node binary.
  const local = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(local, 'include', 'node', 'node_api.h')) ? local : undefined);
  if (gyp && run('node-gyp', [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])])) return;

  console.warn(
    'instnorm: could not build the native addon (needs cmake >= 3.19, or python3 + make, and a C++17 compiler).\n' +
      'instnorm will run on its pure-JS backend; `backend().reason` says why at run time.\n' +
      'Fix the toolchain and run `npm rebuild instnorm --foreground-scripts`.',
  );
}

main();
