// Runs every entry of ops.cjs on the backend this process loads and prints
// one JSON object: the backend, each entry's outputs (typed arrays as base64
// of their bytes, so the comparison sees every bit), the async checks, and
// which exported functions the entries called.
//   node run.cjs <package dir>      (INSTNORM_BACKEND=js|native chooses)
'use strict';
const path = require('node:path');
const ops = require('./ops.cjs');

const lib = require(path.resolve(process.argv[2]));
// Not operations: configuration and introspection.
const NOT_OPS = new Set(['setThreads', 'getThreads', 'backend']);

// Deterministic data per entry: offset + values in [-1, 1) from an LCG.
function data(seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1;
  return { f32: (n, offset = 0) => Float32Array.from({ length: n }, () => offset + next()) };
}

const isTyped = (v) => ArrayBuffer.isView(v) && !(v instanceof DataView);

// A copy of the arguments in which each typed array is copied once (the same
// array twice, e.g. `out: x`, stays one array).
function cloneArgs(args) {
  const seen = new Map();
  const clone = (v) => {
    if (isTyped(v)) {
      if (!seen.has(v)) seen.set(v, v.slice());
      return seen.get(v);
    }
    if (Array.isArray(v)) return v.map(clone);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, w]) => [k, clone(w)]));
    return v;
  };
  return clone(args);
}

// { 'a.b': { type, base64 } | number } for every leaf.
function flatten(v, prefix = '', out = {}) {
  if (isTyped(v)) out[prefix] = { type: v.constructor.name, base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[prefix] = v;
  else if (v && typeof v === 'object') for (const [k, w] of Object.entries(v)) flatten(w, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

function recording(called, asyncChecks) {
  return new Proxy(lib, {
    get(target, key) {
      const fn = target[key];
      if (typeof fn !== 'function' || typeof key !== 'string') return fn;
      return (...args) => {
        called.add(key);
        const asyncFn = target[`${key}Async`];
        const before = typeof asyncFn === 'function' ? cloneArgs(args) : null;
        const result = fn.apply(target, args);
        if (before) asyncChecks.push({ name: `${key}Async`, fn: asyncFn, args: before, expected: JSON.stringify(flatten({ result, args })) });
        return result;
      };
    },
  });
}

async function main() {
  const called = new Set();
  const cases = {};
  let seed = 1;
  for (const op of ops) {
    const asyncChecks = [];
    const outputs = flatten(op.run(recording(called, asyncChecks), data(seed++)));
    const async = {};
    for (const c of asyncChecks) {
      called.add(c.name);
      try {
        const result = await c.fn.apply(lib, c.args);
        const same = JSON.stringify(flatten({ result, args: c.args })) === c.expected;
        async[c.name] = same ? 'identical' : 'differs from the sync call';
      } catch (e) {
        async[c.name] = `rejected: ${e.message}`;
      }
    }
    cases[op.name] = { outputs, async };
  }
  const exported = Object.keys(lib).filter((k) => typeof lib[k] === 'function' && !NOT_OPS.has(k));
  const uncovered = exported.filter((k) => !called.has(k));
  process.stdout.write(JSON.stringify({ backend: lib.backend(), node: process.version, arch: process.arch, cases, uncovered }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
