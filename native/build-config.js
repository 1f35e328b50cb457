#!/usr/bin/env node
// The build configuration every build reads: the ISAs, their flags and the
// flags common to all translation units (from native/kernels/isas.def, the
// one place they are declared), and the addon's baseline sources (every .cc
// under native/ except the per-ISA kernel table and the tests, so a new
// source file needs no build-file edit).
//
// It lives in native/ because the package ships native/ and both builds run
// it at install time. Used by CMakeLists.txt (`cmake <arch> <compiler>`,
// JSON), binding.gyp (`sources`, `common`, `gyp-slot`: whitespace-separated
// lists for <!@(...) expansions),
// scripts/build-kernel-tests.sh and scripts/bench-kernels.sh (`isa-lines`,
// `common`); require()-able for JS tooling (isasFor, commonFlags, ...).
// Compilers: `gcc` (GCC and Clang) or `msvc`. Architectures: Node's names
// (x64, arm64); CMake's and uname's spellings (x86_64, AMD64, aarch64) are
// accepted.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');  // this file is native/build-config.js
const ISA_DEF = path.join(ROOT, 'native', 'kernels', 'isas.def');
const KERNEL_TABLE_SOURCE = 'native/kernels/kernel_table.cc';
const COMPILERS = ['gcc', 'msvc'];

function fail(msg) {
  throw new Error(`build-config: ${msg}`);
}

function words(s) {
  return s.split(/\s+/).filter(Boolean);
}

// isas.def: INSTNORM_ISA(name, arch, "features", "gcc flags", "msvc flags")
// and INSTNORM_COMMON_FLAGS("gcc flags", "msvc flags"), one per line;
// comments and preprocessor lines are skipped, anything else is an error.
function parseIsaDef(text = fs.readFileSync(ISA_DEF, 'utf8')) {
  const str = '"([^"]*)"';
  const ident = '\\s*(\\w+)\\s*';
  const isaRe = new RegExp(`^INSTNORM_ISA\\(${ident},${ident},\\s*${str}\\s*,\\s*${str}\\s*,\\s*${str}\\s*\\)$`);
  const commonRe = new RegExp(`^INSTNORM_COMMON_FLAGS\\(\\s*${str}\\s*,\\s*${str}\\s*\\)$`);
  const isas = [];
  let common = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('//') || line.startsWith('#')) return;
    let m = isaRe.exec(line);
    if (m) {
      isas.push({ name: m[1], arch: m[2], features: words(m[3]), flags: { gcc: words(m[4]), msvc: words(m[5]) } });
      return;
    }
    m = commonRe.exec(line);
    if (m && common === null) {
      common = { gcc: words(m[1]), msvc: words(m[2]) };
      return;
    }
    fail(`${path.relative(ROOT, ISA_DEF)}:${i + 1}: cannot read this line: ${line}`);
  });
  if (common === null) fail('isas.def has no INSTNORM_COMMON_FLAGS line');
  if (!isas.some((isa) => isa.arch === 'any')) fail('isas.def needs an ISA for every architecture (arch `any`)');
  return { isas, common };
}

function normArch(arch) {
  const a = String(arch).toLowerCase();
  if (['x64', 'x86_64', 'amd64', 'x86-64'].includes(a)) return 'x64';
  if (['arm64', 'aarch64'].includes(a)) return 'arm64';
  return a;
}

function compiler(name) {
  if (!COMPILERS.includes(name)) fail(`compiler must be one of ${COMPILERS.join(', ')}, got ${name}`);
  return name;
}

/** The ISAs a build for `arch` compiles, weakest first (the dispatcher prefers the last). */
function isasFor(arch, def = parseIsaDef()) {
  const a = normArch(arch);
  return def.isas.filter((isa) => isa.arch === 'any' || isa.arch === a);
}

function commonFlags(comp, def = parseIsaDef()) {
  return def.common[compiler(comp)];
}

function isaDefine(isa) {
  return `INSTNORM_TARGET_ISA=${isa.name}`;
}

/** Every .cc under native/ except the per-ISA kernel table and native/test/, sorted, relative to the root. */
function baselineSources() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (rel !== 'native/test') walk(rel);
      } else if (e.name.endsWith('.cc') && rel !== KERNEL_TABLE_SOURCE) {
        out.push(rel);
      }
    }
  };
  walk('native');
  return out.sort();
}

// binding.gyp's ISA slots: target instnorm_isa_<i> builds the i-th ISA of
// the architecture, or nothing (type none) when there is none.
function gypSlot(slot, slots, field, arch, comp) {
  const i = Number(slot);
  const isas = isasFor(arch);
  if (isas.length > Number(slots)) {
    fail(`${normArch(arch)} has ${isas.length} ISAs but binding.gyp has ${slots} ISA slots: add a slot there`);
  }
  const isa = isas[i];
  switch (field) {
    case 'type': return [isa ? 'static_library' : 'none'];
    case 'sources': return isa ? [KERNEL_TABLE_SOURCE] : [];
    case 'defines': return isa ? [isaDefine(isa)] : [];
    case 'flags': return isa ? isa.flags[compiler(comp)] : [];
    default: return fail(`unknown gyp-slot field ${field}`);
  }
}

function main(argv) {
  const [cmd, ...args] = argv;
  const print = (list) => process.stdout.write(list.join(' ') + '\n');
  switch (cmd) {
    case 'cmake': {  // cmake <arch> <compiler>: everything CMakeLists.txt needs, as JSON
      const [arch, comp] = args;
      const isas = isasFor(arch).map((isa) => ({
        name: isa.name, define: isaDefine(isa), flags: isa.flags[compiler(comp)],
      }));
      process.stdout.write(JSON.stringify({
        common: commonFlags(comp), sources: baselineSources(), kernel_source: KERNEL_TABLE_SOURCE, isas,
      }) + '\n');
      return;
    }
    case 'sources': return print(baselineSources());
    case 'common': return print(commonFlags(args[0]));
    case 'isas': return print(isasFor(args[0]).map((isa) => isa.name));
    case 'isa-lines':  // isa-lines <arch> <compiler>: "<name> <flags...>" per ISA, for shell loops
      for (const isa of isasFor(args[0])) print([isa.name, ...isa.flags[compiler(args[1])]]);
      return;
    case 'gyp-slot': return print(gypSlot(...args));
    default:
      return fail(`usage: build-config.js cmake <arch> <compiler> | sources | common <compiler> | `
        + 'isas <arch> | isa-lines <arch> <compiler> | '
        + 'gyp-slot <i> <slots> type|sources|defines|flags <arch> [compiler]');
  }
}

module.exports = { parseIsaDef, isasFor, commonFlags, baselineSources, normArch, KERNEL_TABLE_SOURCE };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  }
}
