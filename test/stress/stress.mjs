// Worker-thread stress (run by workers.test.ts in a child process, so that
// the process staying up is what is checked): W workers call sync and async
// operations concurrently for D seconds, each checking against the JS
// backend; every ~T ms one worker is terminated wherever it is (often in
// the middle of an async call on a large tensor) and replaced. Prints one
// JSON summary line and exits 0 if it got that far (3 if a worker does
// not stop: a call that never returns).
//
// Usage: node stress.mjs [seconds=4] [workers=4] [terminateEveryMs=250]
import { Worker } from 'node:worker_threads';

const seconds = Number(process.argv[2] ?? 4);
const count = Number(process.argv[3] ?? 4);
const every = Number(process.argv[4] ?? 250);
const url = new URL('./worker.mjs', import.meta.url);

let started = 0;
let terminated = 0;
let terminatedInCall = 0;
let finishedCalls = 0;
const mismatches = [];
const errors = [];
const live = new Map();

function start() {
  const id = started++;
  const w = new Worker(url, { workerData: { seed: 0x9e3779b9 ^ (id * 7919), largeShare: 0.15, setThreadsShare: Number(process.env.STRESS_SET_THREADS ?? 0.05) } });
  const state = { w, calls: 0, killed: false };
  live.set(id, state);
  w.on('message', (m) => {
    if (m.current) {
      state.current = m.current;
      state.inCall = true;
      return;
    }
    state.inCall = false;
    state.calls = m.calls;
    mismatches.push(...m.mismatches);
  });
  w.on('error', (e) => errors.push(`worker ${id}: ${e?.stack ?? e}`));
  w.on('exit', () => {
    finishedCalls += state.calls;
    live.delete(id);
  });
}

for (let i = 0; i < count; i++) start();
const t0 = Date.now();
const killer = setInterval(() => {
  // Preferably a worker in the middle of a call.
  const all = [...live.keys()].filter((k) => !live.get(k).killed);
  const busy = all.filter((k) => live.get(k).inCall);
  const ids = busy.length ? busy : all;
  const id = ids[Math.floor(Math.random() * ids.length)];
  const s = live.get(id);
  if (!s || s.killed) return;
  s.killed = true;
  terminated++;
  if (s.inCall) terminatedInCall++;
  s.w.terminate();
  start();
}, every);

await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(killer);
// Stop the rest cleanly (they finish their current call and report); a
// worker that does not stop within `grace` seconds is stuck in a call.
const grace = Number(process.env.STRESS_GRACE ?? 30);
const stuck = [];
await Promise.all([...live.entries()].map(([id, s]) => new Promise((r) => {
  const timer = setTimeout(() => {
    stuck.push(`worker ${id}${s.killed ? ' (terminating)' : ''} did not stop within ${grace} s; last call: ${s.current}`);
    r();
  }, grace * 1000);
  s.w.once('exit', () => {
    clearTimeout(timer);
    r();
  });
  s.w.postMessage('stop');
})));
if (stuck.length) {
  console.log(JSON.stringify({ stuck }));
  process.exit(3);
}
console.log(JSON.stringify({ seconds: (Date.now() - t0) / 1000, workers: count, started, terminated, terminatedInCall, calls: finishedCalls, mismatches, errors }));
