/**
 * The JS backend has no thread to move work to: its "async" kernels run on
 * the main thread, on a later turn of the event loop (setImmediate), so a
 * caller's code after the call runs first and timers due before it fire.
 */
export function deferred<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => Promise<void> {
  return (...args) => new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        fn(...args);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}
