// Async lifetime (issue 10, finding 1): every async function, every array
// argument, every way JavaScript has of taking a buffer away while the call
// is in flight (transfer by structuredClone, ArrayBuffer#transfer or
// postMessage; resize to 0, also with ArrayBuffer.prototype.resizable
// lying), with the references dropped and GC forced. The process must
// survive, the promise settle: resolved with the synchronous results when
// an input was taken, rejected with a TypeError naming the argument (and
// nothing written) when an output was. Each function runs in a child
// process (child.mjs, --expose-gc), on the ISAs in turn; under
// scripts/asan-run.sh the children run with ASan, which fails on any
// report. The JS backend runs async calls at call time: nothing to test.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { internal, lib } from '../helpers/backend-under-test';
import { CASES } from './cases.mjs';

const CHILD = path.join(__dirname, 'child.mjs');
const native = lib.backend().name === 'native';
const why = native ? null : `native backend not loaded (${lib.backend().reason}): async calls run at call time on the JS backend`;
if (why) console.warn(`[lifetime] skipping: ${why}`);

/** Node flags: --expose-gc, and ArrayBuffer#transfer where Node 20 still has it behind a V8 flag. */
function nodeFlags(): string[] {
  const flags = ['--expose-gc'];
  if (typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer !== 'function') {
    const probe = spawnSync(process.execPath, ['--harmony-rab-gsab-transfer', '-e', 'process.exit(typeof ArrayBuffer.prototype.transfer === "function" ? 0 : 1)']);
    if (probe.status === 0) flags.push('--harmony-rab-gsab-transfer');
  }
  return flags;
}
const FLAGS = native ? nodeFlags() : [];
const ISAS = native ? internal.nativeIsas() : [];

interface Line { start?: boolean; arg: string; action: string; status?: string; detail?: string }

/** Known findings: none open (H10-F2 and H10-F6 were fixed; the tests below keep them so). */
const KNOWN: { id: string; matches: (fn: string, l: Line) => boolean }[] = [];

const tally: Record<string, number> = {};
afterAll(() => {
  if (native) console.log(`[lifetime] cases: ${JSON.stringify(tally)} (flags ${FLAGS.join(' ')}; ISAs in turn: ${ISAS.join(', ')})`);
});

function runChild(index: number, isa: string): Promise<{ lines: Line[]; code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...FLAGS, CHILD, String(index)], {
      env: { ...process.env, INSTNORM_BACKEND: 'native', INSTNORM_ISA: isa },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code, signal) => {
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
      resolve({ lines, code, signal, stderr: err });
    });
  });
}

describe.skipIf(!native)('async lifetime: buffers taken away during the call', () => {
  describe.concurrent.each(CASES.map(([fn], i) => [`${fn}Async #${i}`, fn as string, i] as const))('%s', (_label, fn, index) => {
    it('survives, settles as it should, and writes nothing after a rejection', async () => {
      const isa = ISAS[index % ISAS.length];
      const r = await runChild(index, isa);
      const last = [...r.lines].reverse().find((l) => l.start);
      expect(r.signal, `killed by ${r.signal} during ${last?.arg} / ${last?.action} (${isa}):\n${r.stderr.slice(-3000)}`).toBeNull();
      expect(r.code, `exit ${r.code} during ${last?.arg} / ${last?.action} (${isa}):\n${r.stderr.slice(-3000)}`).toBe(0);
      const results = r.lines.filter((l) => !l.start);
      expect(results.length).toBeGreaterThan(0);
      const failures: string[] = [];
      for (const l of results) {
        const known = l.status !== 'pass' && l.status !== 'skip' ? KNOWN.find((k) => k.matches(fn, l)) : undefined;
        const key = known ? known.id : l.status!;
        tally[key] = (tally[key] ?? 0) + 1;
        if (!known && l.status !== 'pass' && l.status !== 'skip') failures.push(`${l.arg} / ${l.action}: ${l.detail}`);
      }
      expect(failures, `${fn}Async on ${isa}`).toEqual([]);
    });
  });
});

describe.skipIf(!native)('async lifetime findings', () => {
  it('H10-F2: a conditional backward whose dgammaTable is transferred rejects naming dgammaTable', async () => {
    const n = 4 * 16 * 64 * 64;
    const dgammaTable = new Float32Array(2 * 16);
    const p = lib.conditionalInstanceNormBackwardAsync(new Float32Array(n).fill(1), Float32Array.from({ length: n }, (_, i) => Math.sin(i)), [4, 16, 64, 64],
      new Int32Array([0, 1, 0, 1]), new Float32Array(32).fill(1), new Float32Array(32), { dgammaTable });
    structuredClone(dgammaTable.buffer, { transfer: [dgammaTable.buffer] });
    await expect(p).rejects.toThrow(/dgammaTable/);
  });

  it('H10-F6: batchNormAsync in inference mode resolves when runningMean (only read) is transferred during the call', async () => {
    const n = 4 * 16 * 64 * 64;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const runningMean = new Float32Array(16);
    const p = lib.batchNormAsync(x, [4, 16, 64, 64], { runningMean, runningVar: new Float32Array(16).fill(1) });
    structuredClone(runningMean.buffer, { transfer: [runningMean.buffer] });
    const y = await p;
    expect(y[5]).toBeCloseTo(Math.sin(5) / Math.sqrt(1 + 1e-5), 5);
  });
});
