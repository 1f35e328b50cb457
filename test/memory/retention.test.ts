// Memory (issue 10, finding 4): after each of the big calls below, resident
// memory returns to within 16 MiB per thread that ran kernel code of where
// it was; and repeating every op (sync and async) does not grow it. Each
// scenario runs in a fresh child process (measure.mjs, --expose-gc), so one
// cannot hide another's retention by reusing it. Figures are printed.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lib } from '../helpers/backend-under-test';

const native = lib.backend().name === 'native';
// VmRSS comes from /proc/self/status.
const why = process.platform !== 'linux' ? `resident memory is read from /proc (Linux), this is ${process.platform}`
  : !native ? 'the native backend is not loaded (the JS backend has no scratch memory to retain)' : null;
if (why) console.warn(`[memory] skipping: ${why}`);
const PER_THREAD_MiB = 16;
const uvThreads = Number(process.env.UV_THREADPOOL_SIZE || 4);

function measure(scenario: string) {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'measure.mjs'), scenario], { encoding: 'utf8', timeout: 120_000 });
  expect(r.signal, `${scenario}: killed by ${r.signal}: ${r.stderr.slice(-2000)}`).toBeNull();
  expect(r.status, `${scenario}: exit ${r.status}: ${r.stderr.slice(-2000)}`).toBe(0);
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
  console.log(`[memory] ${scenario}: base ${m.baseMiB.toFixed(1)} MiB, peak ${m.peakMiB.toFixed(1)} MiB, after ${m.afterMiB.toFixed(1)} MiB, retained ${m.retainedMiB.toFixed(1)} MiB (${m.backend.isa}, ${m.backend.threads} threads)`);
  return m as { retainedMiB: number; peakMiB: number; baseMiB: number; backend: { threads: number } };
}

describe.skipIf(why !== null)('retained memory', () => {
  // Threads that ran kernel code: the calling thread and the pool's others (sync), plus libuv's (async).
  const cases: [string, string, (threads: number) => number][] = [
    ['instanceNormBackward on [1, 4Mi, 1]', 'backward-4Mi-planes', (t) => t],
    ['8 concurrent instanceNormBackwardAsync on [1, 4Mi, 1]', 'backward-4Mi-planes-async8', (t) => t + uvThreads],
    ['channels-last instanceNorm and instanceNormBackward with C = 4Mi ([1, 2, 4Mi])', 'nhwc-4Mi-channels', (t) => t],
    ['layerNormBackward on [16, 1Mi]', 'layer-backward-16x1Mi', (t) => t],
  ];
  it.each(cases)('%s: within 16 MiB per thread of where it was', (_label, scenario, threadsOf) => {
    const m = measure(scenario);
    const bound = PER_THREAD_MiB * threadsOf(m.backend.threads);
    expect(m.peakMiB - m.baseMiB, 'the scenario allocated what it should (peak above base)').toBeGreaterThan(16);
    expect(m.retainedMiB, `retained ${m.retainedMiB.toFixed(1)} MiB, bound ${bound} MiB`).toBeLessThanOrEqual(bound);
  });

  it('every op, sync and async, 30 rounds after warm-up: no growth', () => {
    const m = measure('steady');
    // A leak of one output per call would be ~60 MiB per round here.
    expect(m.retainedMiB, `grew ${m.retainedMiB.toFixed(2)} MiB over 30 rounds`).toBeLessThanOrEqual(8);
  });
});
