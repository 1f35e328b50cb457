// Child of finding-01 (run with --expose-gc): starts instanceNormAsync on
// [1, 16, 1024, 1024] (64 MiB), takes one argument's buffer away while the
// call runs (transfers it to a clone that is dropped, or shrinks a resizable
// buffer whose `resizable` getter was redefined to hide it), forces GC, and
// prints how the promise settled. argv[2]: 'x-transfer' | 'out-transfer' |
// 'x-resize' | 'out-resize'.
'use strict';
const path = require('node:path');
const lib = require(path.join(__dirname, '..', '..', '..', 'dist', 'index.js'));

const shape = [1, 16, 1024, 1024];
const n = shape.reduce((a, b) => a * b, 1);
const scenario = process.argv[2];
const [arg, how] = scenario.split('-');

/** Data with a different mean and scale per plane (a result that is not beta). */
function fill(a) {
  let s = 12345;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (i >> 20) + (s / 4294967296 - 0.5) * (1 + (i >> 20));
  }
  return a;
}

function bitsEqual(a, b) {
  if (a.length !== b.length) return false;
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const v = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return false;
  return true;
}

/** A Float32Array of n elements whose buffer can be taken away as `how` says. */
function makeArray() {
  if (how !== 'resize') return new Float32Array(n);
  // What finding 1 did: hide resizability from the facade's check, then shrink.
  Object.defineProperty(ArrayBuffer.prototype, 'resizable', { get: () => false, configurable: true });
  return new Float32Array(new ArrayBuffer(n * 4, { maxByteLength: n * 4 }));
}

function takeAway(a) {
  if (how === 'transfer') structuredClone(a.buffer, { transfer: [a.buffer] });
  else a.buffer.resize(0);
}

async function main() {
  const gamma = Float32Array.from({ length: 16 }, (_, c) => 1 + c / 8);
  const beta = Float32Array.from({ length: 16 }, (_, c) => c / 4 - 1);
  const x = fill(arg === 'x' ? makeArray() : new Float32Array(n));
  const expected = lib.instanceNorm(Float32Array.from(x), shape, { gamma, beta });
  const xBefore = Float32Array.from(x);
  const out = arg === 'out' ? makeArray() : new Float32Array(n);
  const p = lib.instanceNormAsync(x, shape, { gamma, beta, out });
  takeAway(arg === 'x' ? x : out);
  globalThis.gc();
  // Allocate over the freed memory while the kernel runs, then collect again.
  const junk = new Float32Array(n).fill(7);
  globalThis.gc();
  const r = { scenario, detachedLength: (arg === 'x' ? x : out).length };
  try {
    const y = await p;
    Object.assign(r, {
      settled: 'resolved', returnedOut: y === out,
      correct: y.length === n ? bitsEqual(y, expected) : null,
      xUnchanged: arg === 'x' ? null : bitsEqual(x, xBefore),
    });
  } catch (e) {
    Object.assign(r, {
      settled: 'rejected', errorType: e && e.constructor && e.constructor.name, message: String(e && e.message),
      xUnchanged: arg === 'x' ? null : bitsEqual(x, xBefore),
    });
  }
  r.junkIntact = junk[0] === 7 && junk[n - 1] === 7;
  globalThis.gc();
  console.log(`RESULT ${JSON.stringify(r)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(3);
});
