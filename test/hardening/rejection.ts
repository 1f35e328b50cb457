/**
 * The assertion of findings 2, 3 and 10: a call that must be refused is
 * refused, by the sync function (a throw) and by its ...Async variant (a
 * rejected promise, never a throw), with the right error class and a
 * message naming the argument, and it leaves every array it was given
 * byte-identical.
 */
import { expect } from 'vitest';
import { F } from '../helpers/backend-under-test';

type ErrorClass = typeof TypeError | typeof RangeError;

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

/** Every array's bytes now; `changed()` lists those that differ later. */
export function snapshot(arrays: Record<string, ArrayBufferView>) {
  const before = Object.entries(arrays).map(([k, a]) => [k, a, bytesOf(a)] as const);
  return {
    changed: () => before.filter(([, a, b]) => {
      const now = bytesOf(a);
      return now.length !== b.length || now.some((v, i) => v !== b[i]);
    }).map(([k]) => k),
  };
}

/**
 * `fn` (a public function name) and `fn + 'Async'` called with `args()`
 * must both refuse with `error` and a message matching `message`, and write
 * none of `arrays` (which should hold every array the call can reach).
 */
export async function expectRefused(
  ctx: string, fn: string, args: () => unknown[], arrays: Record<string, ArrayBufferView>, error: ErrorClass, message: RegExp,
): Promise<void> {
  for (const name of [fn, `${fn}Async`]) {
    const snap = snapshot(arrays);
    let outcome: unknown;
    let thrownSync = false;
    try {
      const r = F[name](...args());
      outcome = name === fn ? 'returned' : await r.then(() => 'resolved', (e: unknown) => e);
    } catch (e) {
      outcome = e;
      thrownSync = true;
    }
    expect(outcome, `${ctx}: ${name} must refuse`).toBeInstanceOf(error);
    expect((outcome as Error).message, `${ctx}: ${name}'s message`).toMatch(message);
    if (name !== fn) expect(thrownSync, `${ctx}: ${name} must return a rejected promise, not throw`).toBe(false);
    expect(snap.changed(), `${ctx}: ${name} wrote before refusing`).toEqual([]);
  }
}

/** Float32Arrays over the same memory through two SharedArrayBuffer objects (as one received back from postMessage). */
export function sharedTwice(floats: number) {
  const sab = new SharedArrayBuffer(floats * 4);
  const other = structuredClone(sab);
  return {
    /** A view of `length` floats from `offset` on the first object. */
    a: (offset: number, length: number) => new Float32Array(sab, offset * 4, length),
    /** The same on the second object (the same memory). */
    b: (offset: number, length: number) => new Float32Array(other, offset * 4, length),
  };
}
