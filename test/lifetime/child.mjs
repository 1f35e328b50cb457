// One async function's lifetime cases, in a process of its own (run by
// async-lifetime.test.ts with --expose-gc): for every array argument and
// every way of taking a buffer away while the call is in flight
// (structuredClone with transfer, ArrayBuffer#transfer, postMessage with
// transfer, resize to 0 of a resizable buffer, the same with
// ArrayBuffer.prototype.resizable lying), start the call, take the buffer,
// drop it, force GC, fill the heap with patterned garbage, and check how the
// promise settles. Prints one JSON line per case ({ arg, action, status,
// detail }) after a "start" line, so a crash names the case it hit.
//
// Usage: node --expose-gc child.mjs <case index>
import { createRequire } from 'node:module';
import { CASES, fill, isOutput } from './cases.mjs';

const require = createRequire(import.meta.url);
const lib = require('../../dist/index.js');

const ACTIONS = ['structuredClone', 'transfer', 'postMessage', 'resize', 'resize-lie'];
const [fn, make] = CASES[Number(process.argv[2])];
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const seedOf = (name) => [...name].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261);
const plain = (name, Ctor, len, role) => fill(new Ctor(len), role, seedOf(name));

// The arguments of this case and their roles.
const roles = new Map();
make((name, Ctor, len, role) => {
  roles.set(name, role);
  return new Ctor(len);
});

/** Arrays of a result: a returned array, or each array of a returned object. */
function arraysOf(r) {
  if (ArrayBuffer.isView(r)) return { result: r };
  return Object.fromEntries(Object.entries(r ?? {}).filter(([, v]) => ArrayBuffer.isView(v)));
}

const sameBits = (a, b) => {
  if (!a || !b || a.length !== b.length || a.constructor !== b.constructor) return false;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return ua.every((v, i) => v === ub[i]);
};

function takeAway(buf, action) {
  if (action === 'structuredClone') structuredClone(buf, { transfer: [buf] });
  else if (action === 'transfer') buf.transfer();
  else if (action === 'postMessage') {
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(buf, [buf]);
    port1.close();
    port2.close();
  } else buf.resize(0);
}

const resizableDescriptor = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable');

async function runCase(target, action) {
  const targetRole = roles.get(target);
  // The expected results: the synchronous call on identical data.
  const ref = new Map();
  const refRet = arraysOf(lib[fn](...make((name, Ctor, len, role) => {
    const a = plain(name, Ctor, len, role);
    ref.set(name, a);
    return a;
  })));
  // Live arguments; the target on a resizable buffer for the resize actions.
  const live = new Map();
  const args = make((name, Ctor, len, role) => {
    const bytes = len * Ctor.BYTES_PER_ELEMENT;
    const buf = name === target && action.startsWith('resize') ? new ArrayBuffer(bytes, { maxByteLength: bytes }) : new ArrayBuffer(bytes);
    const a = fill(new Ctor(buf, 0, len), role, seedOf(name));
    live.set(name, a);
    return a;
  });
  const before = new Map([...live].map(([name, a]) => [name, a.slice()]));
  let buf = live.get(target).buffer;

  if (action === 'resize-lie') Object.defineProperty(ArrayBuffer.prototype, 'resizable', { get: () => false, configurable: true });
  let settled;
  try {
    // Handlers attached at once: a refusal must not become an unhandled rejection meanwhile.
    settled = lib[`${fn}Async`](...args).then((v) => ({ ok: true, v }), (e) => ({ ok: false, e }));
  } catch (e) {
    return { status: 'fail', detail: `threw synchronously: ${e}` };
  } finally {
    if (action === 'resize-lie') Object.defineProperty(ArrayBuffer.prototype, 'resizable', resizableDescriptor);
  }
  takeAway(buf, action);
  buf = null;
  live.delete(target);
  args.length = 0;
  for (let i = 0; i < 2; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  // Patterned garbage in the memory that was freed: a stray write into it shows up below.
  const garbage = Array.from({ length: 4 }, () => new Float64Array(1 << 18).fill(12345.678));
  const outcome = await settled;
  const intact = garbage.every((g) => g.every((v) => v === 12345.678));
  if (!intact) return { status: 'fail', detail: 'memory freed by the take-away was written after it was freed' };
  const leaf = target.split('.').pop();

  if (!outcome.ok) {
    const e = outcome.e;
    const named = e instanceof TypeError && new RegExp(`\\b${leaf}\\b`).test(e.message);
    const refusedUpFront = action === 'resize' && /resizable/.test(String(e?.message));
    if (!(e instanceof TypeError)) return { status: 'fail', detail: `rejected with ${e?.constructor?.name}: ${e?.message}` };
    if (!isOutput(targetRole) && !refusedUpFront) return { status: 'fail', detail: `an input was taken away and the call rejected: ${e.message}` };
    // Nothing written: every remaining output as it was.
    for (const [name, a] of live) {
      if (isOutput(roles.get(name)) && !sameBits(a, before.get(name))) return { status: 'fail', detail: `rejected but wrote ${name}` };
    }
    if (!named) return { status: 'fail-name', detail: `TypeError does not name ${leaf}: ${e.message}` };
    return { status: 'pass', detail: refusedUpFront ? 'refused up front' : 'rejected, nothing written' };
  }
  if (isOutput(targetRole)) return { status: 'fail', detail: 'an output was taken away and the call resolved' };
  // Resolved: results as the synchronous call's.
  const got = arraysOf(outcome.v);
  for (const [k, a] of Object.entries(refRet)) if (!sameBits(got[k], a)) return { status: 'fail', detail: `result ${k} differs from the synchronous call` };
  for (const [name, a] of live) {
    if (isOutput(roles.get(name)) && !sameBits(a, ref.get(name))) return { status: 'fail', detail: `${name} differs from the synchronous call` };
  }
  return { status: 'pass', detail: 'resolved with the synchronous results' };
}

const hasTransfer = typeof ArrayBuffer.prototype.transfer === 'function';
for (const target of roles.keys()) {
  for (const action of ACTIONS) {
    if (action === 'transfer' && !hasTransfer) {
      say({ arg: target, action, status: 'skip', detail: 'ArrayBuffer.prototype.transfer not available in this Node' });
      continue;
    }
    say({ start: true, arg: target, action });
    try {
      say({ arg: target, action, ...(await runCase(target, action)) });
    } catch (e) {
      say({ arg: target, action, status: 'fail', detail: `harness error: ${e?.stack ?? e}` });
    }
  }
}
