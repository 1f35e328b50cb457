/**
 * Backend choice, made once at load: the native addon when it loads, else
 * the pure-TS fallback, with the reason kept for `backend()`.
 *
 * Environment:
 * - INSTNORM_BACKEND=js|native forces a backend (native: load fails loudly
 *   when the addon is unavailable).
 * - INSTNORM_ISA=scalar|avx2|avx512|neon caps the native dispatch.
 * - INSTNORM_REQUIRE_NATIVE=1 makes a missing addon a load error instead of
 *   a silent (well, warned) slow path.
 * - INSTNORM_THREADS=n sets the initial thread count (default: all cores).
 */
import * as path from 'node:path';
import * as os from 'node:os';
import type { OpRunner } from './descriptors';
import { jsOps } from './js/index';
import { nativeOps, type NativeAddon } from './native';

export type IsaName = 'avx512' | 'avx2' | 'neon' | 'scalar';

export interface BackendInfo {
  name: 'native' | 'js';
  isa: IsaName | null;
  threads: number;
  /** Why the JS backend is in use (only for name === 'js'). */
  reason?: string;
}

/** Per architecture, weakest first: a cap allows that ISA and those before it. */
const ISA_ORDER: Record<string, readonly IsaName[]> = {
  x64: ['scalar', 'avx2', 'avx512'],
  arm64: ['scalar', 'neon'],
};
const ALL_ISAS: readonly IsaName[] = ['scalar', 'avx2', 'avx512', 'neon'];

export interface Backend {
  ops: OpRunner;
  info: BackendInfo;
  native: NativeAddon | null;
}

function loadAddon(): NativeAddon {
  // Both build systems' output folders: cmake-js (the default) and node-gyp.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bindings = require('bindings') as (opts: object) => unknown;
  return bindings({
    bindings: 'instnorm.node',
    module_root: path.resolve(__dirname, '..'),
    try: [
      ['module_root', 'build-cmake', 'Release', 'bindings'],
      ['module_root', 'build', 'Release', 'bindings'],
      ['module_root', 'build-cmake', 'Debug', 'bindings'],
      ['module_root', 'build', 'Debug', 'bindings'],
    ],
  }) as NativeAddon;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

/** Applies INSTNORM_ISA to a loaded addon; returns the ISA in use. */
export function capIsa(addon: NativeAddon, cap: string | undefined): IsaName {
  if (cap === undefined || cap === '') return addon.isa() as IsaName;
  const order = ISA_ORDER[process.arch] ?? ['scalar'];
  if (!ALL_ISAS.includes(cap as IsaName)) {
    throw new Error(`instnorm: INSTNORM_ISA=${cap} is not an ISA name (expected one of ${ALL_ISAS.join(', ')})`);
  }
  const rank = order.indexOf(cap as IsaName);
  if (rank < 0) {
    throw new Error(
      `instnorm: INSTNORM_ISA=${cap} does not exist on this CPU architecture (${process.arch}: ${order.join(', ')})`,
    );
  }
  // Best supported ISA at or below the cap (the scalar path always exists).
  for (const isa of addon.isas() as IsaName[]) {
    if (order.indexOf(isa) <= rank && addon.setIsa(isa)) return isa;
  }
  throw new Error('instnorm: the addon reports no usable ISA'); // unreachable: scalar is always there
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

function initialThreads(env: NodeJS.ProcessEnv): number {
  const v = env.INSTNORM_THREADS;
  if (v === undefined || v === '') return Math.min(os.availableParallelism(), MAX_THREADS);
  if (!/^\d+$/.test(v)) throw new Error(`instnorm: INSTNORM_THREADS=${v} is not a whole number`);
  return checkThreads(Number(v), 'INSTNORM_THREADS');
}

export function selectBackend(env: NodeJS.ProcessEnv = process.env): Backend {
  const forced = env.INSTNORM_BACKEND;
  if (forced !== undefined && forced !== '' && forced !== 'js' && forced !== 'native') {
    throw new Error(`instnorm: INSTNORM_BACKEND=${forced} is not valid (expected js or native)`);
  }
  if (forced === 'js') {
    return { ops: jsOps, native: null, info: { name: 'js', isa: null, threads: 1, reason: 'INSTNORM_BACKEND=js' } };
  }
  let addon: NativeAddon;
  try {
    addon = loadAddon();
  } catch (e) {
    const reason = `native addon unavailable: ${firstLine(e)}`;
    if (forced === 'native' || env.INSTNORM_REQUIRE_NATIVE === '1') {
      const why = forced === 'native' ? 'INSTNORM_BACKEND=native' : 'INSTNORM_REQUIRE_NATIVE=1';
      throw new Error(
        `instnorm: ${why} but the ${reason}. Rebuild it with \`npm rebuild instnorm\` ` +
          '(needs cmake or python3, make and a C++17 compiler).',
        { cause: e },
      );
    }
    process.emitWarning(
      `instnorm is running on its pure-JS backend (much slower): the ${reason}. ` +
        'Rebuild with `npm rebuild instnorm --foreground-scripts` to see why the build failed; ' +
        'set INSTNORM_REQUIRE_NATIVE=1 to make this an error.',
      { code: 'INSTNORM_JS_FALLBACK' },
    );
    return { ops: jsOps, native: null, info: { name: 'js', isa: null, threads: 1, reason } };
  }
  const isa = capIsa(addon, env.INSTNORM_ISA);
  const threads = initialThreads(env);
  addon.setThreads(threads);
  return { ops: nativeOps(addon), native: addon, info: { name: 'native', isa, threads } };
}

/** The backend of this process (per worker thread), chosen at first load. */
export const active: Backend = selectBackend();
