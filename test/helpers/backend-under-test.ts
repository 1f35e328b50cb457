/**
 * The library as users get it (the built package), its internal hooks, and
 * which backend this vitest project asked for. Each project in
 * vitest.config.mts sets INSTNORM_BACKEND / INSTNORM_ISA; when the CPU lacks
 * the requested ISA the suites skip themselves (and say so) rather than
 * silently re-testing a lower one.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const lib = require('../../dist/index.js') as typeof import('../../dist/index');
export const internal = require('../../dist/internal.js') as typeof import('../../dist/internal');

/**
 * The public API untyped, for operations that may not exist yet in this
 * build (rmsNorm) and for calls that pass deliberately wrong arguments.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const F: any = lib;

const requestedIsa = process.env.INSTNORM_ISA || null;

const info = lib.backend();

export const label = info.name === 'js' ? 'js' : `native/${info.isa}`;

/** Why this project's suites cannot run here, or null when they can. */
export const unavailable: string | null =
  requestedIsa && (info.name !== 'native' || info.isa !== requestedIsa)
    ? `INSTNORM_ISA=${requestedIsa} requested but this machine runs ${label} (CPU or build lacks ${requestedIsa})`
    : null;

if (unavailable) console.warn(`[instnorm tests] skipping ${label} suites: ${unavailable}`);

/**
 * Runs `fn` on the JS backend (the parity reference of the native kernels)
 * and switches back to the backend loaded at start (a no-op on the js
 * project, which has no other).
 */
export function onJs<T>(fn: () => T): T {
  internal.useBackend('js');
  try {
    return fn();
  } finally {
    internal.useBackend('native');
  }
}

/**
 * Why an operation's suites must skip in this build, or null. Operations
 * added after the suites were written (RMSNorm) skip with this message until
 * the library exports them.
 */
export function missing(...names: string[]): string | null {
  const absent = names.filter((n) => typeof F[n] !== 'function');
  if (absent.length === 0) return null;
  const why = `lib.${absent.join(', lib.')} not exported by this build (dist/index.js)`;
  console.warn(`[instnorm tests] skipping ${names.join('/')} suites: ${why}`);
  return why;
}
