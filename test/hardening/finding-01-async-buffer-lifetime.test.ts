// Finding 1 of the hardening issue: transferring or shrinking a buffer
// during instanceNormAsync was a use-after-free (SIGSEGV). What must hold:
// never a crash; an output whose buffer was taken makes the promise reject
// with a TypeError naming it (nothing written); an input whose buffer was
// taken does not matter (the native backend copies non-shared inputs at the
// call), the promise resolves with the right result. Each scenario runs in
// a child process (./children/async-buffer-lifetime.cjs) on a 64 MiB tensor
// with forced GC, so a crash shows as a signal here.
//
// The JS backend runs the whole operation inside the call, before the
// caller can take any buffer: there every scenario resolves (the output
// was written before its buffer moved).
import { describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { died, runChild } from './child';

interface Outcome {
  scenario: string;
  detachedLength: number;
  settled: 'resolved' | 'rejected';
  correct?: boolean | null;
  returnedOut?: boolean;
  errorType?: string;
  message?: string;
  xUnchanged: boolean | null;
  junkIntact: boolean;
}

const native = lib.backend().name === 'native';

function run(scenario: string): Outcome {
  const r = runChild<Outcome>('async-buffer-lifetime.cjs', [scenario]);
  expect(r.signal, `finding 1 ${scenario}: the child crashed: ${died(r)}`).toBeNull();
  expect(r.status, `finding 1 ${scenario}: ${died(r)}`).toBe(0);
  expect(r.result).not.toBeNull();
  const o = r.result!;
  // The argument really lost its memory while the call ran.
  expect(o.detachedLength).toBe(0);
  expect(o.junkIntact).toBe(true);
  return o;
}

describe.skipIf(unavailable !== null)(`finding 1: buffers taken during instanceNormAsync on ${label}`, () => {
  it.each(['transfer', 'resize'])('finding 1: x %s during the call: no crash, resolves with the right result', (how) => {
    const o = run(`x-${how}`);
    expect(o.settled).toBe('resolved');
    expect(o.returnedOut).toBe(true);
    expect(o.correct, 'bitwise equal to the sync call on the same data').toBe(true);
  });

  it.each(['transfer', 'resize'])(
    'finding 1: out %s during the call: no crash, rejects with a TypeError naming out, x untouched',
    (how) => {
      const o = run(`out-${how}`);
      expect(o.xUnchanged).toBe(true);
      if (!native) {
        expect(o.settled).toBe('resolved');
        return;
      }
      expect(o.settled).toBe('rejected');
      expect(o.errorType).toBe('TypeError');
      expect(o.message).toMatch(/\bout\b/);
    },
  );
});
