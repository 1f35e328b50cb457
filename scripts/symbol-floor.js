// The symbol-version floor of the prebuilt Linux (glibc) binaries: they must
// load wherever Node 20 itself runs, whose official Linux binaries need at
// most GLIBC_2.28 and GLIBCXX_3.4.21. CXXABI_1.3.9 is the C++ ABI version of
// the same libstdc++ (GCC 5.1). How the addon stays under it:
// native/runtime/glibc_floor.h. Used by scripts/prebuild.js (which refuses
// to ship a binary above the floor) and test/package/tarball.test.ts.
'use strict';
const { execFileSync } = require('node:child_process');

const FLOOR = { GLIBC: '2.28', GLIBCXX: '3.4.21', CXXABI: '1.3.9' };

function compare(a, b) {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every versioned symbol the binary needs, as { symbol, lib, version }. */
function neededSymbols(file) {
  const out = execFileSync('readelf', ['--dyn-syms', '--wide', file], { encoding: 'utf8' });
  const needed = [];
  for (const line of out.split('\n')) {
    // Undefined (imported) symbols: "... UND name@LIB_1.2.3 (n)"
    const m = / UND ([^\s@]+)@(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)/.exec(line);
    if (m) needed.push({ symbol: m[1], lib: m[2], version: m[3] });
  }
  return needed;
}

/** The highest version needed per library, e.g. { GLIBC: '2.14', GLIBCXX: '3.4.21' }. */
function highestVersions(file) {
  const top = {};
  for (const { lib, version } of neededSymbols(file)) {
    if (!top[lib] || compare(version, top[lib]) > 0) top[lib] = version;
  }
  return top;
}

/** Symbols above the floor, as "name@LIB_x.y" strings (empty: the binary is within it). */
function aboveFloor(file) {
  return neededSymbols(file)
    .filter(({ lib, version }) => compare(version, FLOOR[lib]) > 0)
    .map(({ symbol, lib, version }) => `${symbol}@${lib}_${version}`);
}

module.exports = { FLOOR, compare, neededSymbols, highestVersions, aboveFloor };
