// worker_threads stress (issue 10): several workers call sync and async
// operations concurrently for a few seconds, each result checked against
// the JS backend, while workers are terminated wherever they are (often
// mid-call) and replaced. Runs in a child process (stress.mjs) so that the
// process staying up is what is asserted. STRESS_SECONDS / STRESS_WORKERS
// lengthen or widen it (the run: 8 workers, 30 s).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lib } from '../helpers/backend-under-test';

const native = lib.backend().name === 'native';
const seconds = Number(process.env.STRESS_SECONDS ?? 4);
const workers = Number(process.env.STRESS_WORKERS ?? 4);

describe.skipIf(!native)('worker_threads stress', () => {
  it(`${workers} workers for ${seconds} s, sync and async, terminated mid-call: no crash, no hang, no wrong result`, () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'stress.mjs'), String(seconds), String(workers), '250'], {
      encoding: 'utf8', timeout: (seconds + 90) * 1000, env: { ...process.env, STRESS_GRACE: '30' },
    });
    expect(r.signal, `killed by ${r.signal}: ${r.stderr.slice(-3000)}`).toBeNull();
    const last = r.stdout.trim().split('\n').pop() ?? '';
    expect(r.status, `exit ${r.status}: ${last} ${r.stderr.slice(-3000)}`).toBe(0);
    const s = JSON.parse(last);
    console.log(`[stress] ${last}`);
    expect(s.errors).toEqual([]);
    expect(s.mismatches).toEqual([]);
    // It did what it claims: calls checked, workers terminated, some of them mid-call.
    expect(s.calls).toBeGreaterThan(20);
    expect(s.terminated).toBeGreaterThanOrEqual(Math.floor((seconds * 1000) / 250 / 2));
    expect(s.terminatedInCall).toBeGreaterThan(0);
  });
});
