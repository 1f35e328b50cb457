/**
 * Backend choice, made once at load: the native addon when it loads (see
 * native_loader.ts for where it is looked for), else the pure-TS fallback,
 * with the reason kept for `backend()` and said once in a warning.
 *
 * Environment:
 * - INSTNORM_BACKEND=js|native forces a backend (js: silently, a deliberate
 *   choice; native: load fails loudly when the addon is unavailable).
 * - INSTNORM_ISA=scalar|avx2|avx512|neon caps the native dispatch.
 * - INSTNORM_REQUIRE_NATIVE=1 makes a missing addon a load error instead of
 *   a warned slow path.
 * - INSTNORM_THREADS=n sets the initial thread count (default: all cores).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import type { OpRunner } from './descriptors';
import { jsOps } from './js/index';
import { nativeOps, type NativeAddon } from './native';
import {
  BUILD_COMMAND, FALLBACK_WARNED, loadNative, platformName, type LoadAttempt, type LoadedBinary,
} from './native_loader';

/** The environment variables read (a plain record, so the types need no @types/node). */
type Environment = Record<string, string | undefined>;

/**
 * An ISA of the native kernels: a name from native/kernels/isas.def
 * ('scalar', 'avx2', 'avx512' on x64; 'scalar', 'neon' on arm64).
 */
export type IsaName = string;

export interface BackendInfo {
  name: 'native' | 'js';
  isa: IsaName | null;
  threads: number;
  /** Why the JS backend is in use (only for name === 'js'). */
  reason?: string;
}

export interface Backend {
  ops: OpRunner;
  info: BackendInfo;
  native: NativeAddon | null;
  /** The binary loaded (native backend), for `npx instnorm info`. */
  binary?: Omit<LoadedBinary, 'addon'>;
  /** Where the addon was looked for and why it did not load (fallback). */
  attempts?: LoadAttempt[];
}

/**
 * How much slower the JS backend measured than native, as written into
 * dist/ by scripts/write-fallback-figure.js from bench/results/latest.json.
 */
interface FallbackFigure {
  min: number;
  max: number;
  what: string;
  source: string;
}

function fallbackFigure(): FallbackFigure | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, 'js-fallback-figure.json'), 'utf8')) as FallbackFigure;
  } catch {
    return null; // running from the TypeScript sources, not a build
  }
}

function round(x: number): string {
  return x < 10 ? x.toFixed(1) : x.toFixed(0);
}

/** The load-time warning: platform, real cause, cost, and the fix. */
export function fallbackWarning(attempts: readonly LoadAttempt[]): string {
  const fig = fallbackFigure();
  const cost = fig ? `${round(fig.min)}-${round(fig.max)}x slower (${fig.what}; ${fig.source})` : 'much slower';
  return [
    `instnorm: no native binary loaded on ${platformName()}, Node ${process.versions.node}:`,
    ...attempts.map((a) => `  ${a.where}: ${a.why}`),
    `Running on the pure-JS backend instead, ${cost}.`,
    `Fix: run \`${BUILD_COMMAND}\` (builds the addon from source; needs a C++17 compiler and cmake, or python3 and make).`,
    'INSTNORM_BACKEND=js selects the JS backend without this warning; INSTNORM_REQUIRE_NATIVE=1 makes it an error.',
  ].join('\n');
}

/**
 * Applies INSTNORM_ISA to a loaded addon; returns the ISA in use. The
 * names, their order and what the cap means live in C++ with the ISA list
 * (native/kernels/isas.def, select_table()).
 */
export function capIsa(addon: NativeAddon, cap: string | undefined): IsaName {
  return cap === undefined || cap === '' ? addon.isa() : addon.capIsa(cap);
}

export const MAX_THREADS = 1024;

/** A thread count: a safe integer in [1, MAX_THREADS]. */
export function checkThreads(n: unknown, name: string): number {
  if (typeof n !== 'number') throw new TypeError(`${name} must be a number, got ${typeof n}`);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`${name} must be an integer from 1 to ${MAX_THREADS}, got ${n}`);
  }
  return n;
}

function initialThreads(env: Environment): number {
  const v = env.INSTNORM_THREADS;
  if (v === undefined || v === '') return Math.min(os.availableParallelism(), MAX_THREADS);
  if (!/^\d+$/.test(v)) throw new Error(`instnorm: INSTNORM_THREADS=${v} is not a whole number`);
  return checkThreads(Number(v), 'INSTNORM_THREADS');
}

export function selectBackend(env: Environment = process.env): Backend {
  const forced = env.INSTNORM_BACKEND;
  if (forced !== undefined && forced !== '' && forced !== 'js' && forced !== 'native') {
    throw new Error(`instnorm: INSTNORM_BACKEND=${forced} is not valid (expected js or native)`);
  }
  if (forced === 'js') {
    return { ops: jsOps, native: null, info: { name: 'js', isa: null, threads: 1, reason: 'INSTNORM_BACKEND=js' } };
  }
  const loaded = loadNative();
  if (!loaded.ok) {
    const { attempts } = loaded;
    const reason = `no native binary loaded on ${platformName()}: ${attempts.map((a) => `${a.where}: ${a.why}`).join('; ')}`;
    if (forced === 'native' || env.INSTNORM_REQUIRE_NATIVE === '1') {
      const why = forced === 'native' ? 'INSTNORM_BACKEND=native' : 'INSTNORM_REQUIRE_NATIVE=1';
      throw new Error(`instnorm: ${why}, but ${reason}. Fix: run \`${BUILD_COMMAND}\`.`);
    }
    return { ops: jsOps, native: null, info: { name: 'js', isa: null, threads: 1, reason }, attempts };
  }
  const { addon, ...binary } = loaded.binary;
  const isa = capIsa(addon, env.INSTNORM_ISA);
  const threads = initialThreads(env);
  addon.setThreads(threads);
  return { ops: nativeOps(addon), native: addon, info: { name: 'native', isa, threads }, binary };
}

/** The backend of this process (per worker thread), chosen at first load. */
export const active: Backend = selectBackend();

// Once per process, and never when INSTNORM_BACKEND=js chose the JS backend.
// A worker thread loads its own copy of this module; the flag is inherited by
// workers started after it is set (worker_threads environment data).
if (active.attempts && getEnvironmentData(FALLBACK_WARNED) !== true) {
  setEnvironmentData(FALLBACK_WARNED, true);
  process.emitWarning(fallbackWarning(active.attempts), { code: 'INSTNORM_JS_FALLBACK' });
}
