// Compares two outputs of run.cjs, native against JS: every typed array
// within the tolerance of the kernel suites (relative to 1 + max |JS value|),
// every other value equal, and each async variant identical to its sync call
// (or rejected alike on both backends). Returns the differences as lines.
'use strict';

const TOLERANCE = 1e-5;

function decode(e) {
  const b = Buffer.from(e.base64, 'base64');
  const T = { Float32Array, Float64Array, Int32Array, Uint32Array }[e.type];
  if (!T) throw new Error(`parity: cannot compare a ${e.type}`);
  return new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function differences(native, js, tolerance = TOLERANCE) {
  const out = [];
  for (const [name, c] of Object.entries(js.cases)) {
    const n = native.cases[name];
    if (!n) {
      out.push(`${name}: missing on native`);
      continue;
    }
    for (const [key, ref] of Object.entries(c.outputs)) {
      const got = n.outputs[key];
      if (typeof ref !== 'object' || typeof got !== 'object') {
        if (got !== ref) out.push(`${name} ${key}: ${String(got)} vs ${String(ref)}`);
        continue;
      }
      const a = decode(got), b = decode(ref);
      let maxRef = 0, maxDiff = a.length === b.length ? 0 : Infinity;
      for (let i = 0; i < b.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(b[i]));
        const d = Number.isNaN(a[i]) || Number.isNaN(b[i]) ? (Number.isNaN(a[i]) === Number.isNaN(b[i]) ? 0 : Infinity) : Math.abs(a[i] - b[i]);
        maxDiff = Math.max(maxDiff, d);
      }
      if (!(maxDiff <= tolerance * (1 + maxRef))) {
        out.push(`${name} ${key}: max |native - js| = ${maxDiff} (bar ${tolerance * (1 + maxRef)})`);
      }
    }
    for (const [fn, verdict] of Object.entries(n.async)) {
      if (verdict === 'identical') continue;
      if (verdict === 'differs from the sync call' || verdict !== c.async[fn]) out.push(`${name} ${fn}: native ${verdict}; js ${c.async[fn]}`);
    }
  }
  return out;
}

module.exports = { TOLERANCE, differences };
