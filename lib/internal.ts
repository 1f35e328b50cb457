/**
 * Not part of the public API (no semver promise): hooks for the benchmark
 * and the tests, which compare ISAs and backends within one process. Users
 * cap the ISA with INSTNORM_ISA and choose the backend with INSTNORM_BACKEND.
 */
import { active, type Backend, type IsaName } from './backend';
import { jsOps } from './js/index';
import type { NativeAddon } from './native';

/** ISAs the loaded addon can run here, best first ([] on the JS backend). */
export function nativeIsas(): IsaName[] {
  return active.native ? (active.native.isas() as IsaName[]) : [];
}

/** The loaded addon's raw interface (tests of the binding itself), or null. */
export function nativeAddon(): NativeAddon | null {
  return loaded?.native ?? active.native;
}

/** Switches the native kernels to `isa`; false if it is not available. */
export function setIsa(isa: IsaName): boolean {
  if (!active.native || !active.native.setIsa(isa)) return false;
  active.info.isa = isa;
  return true;
}

// The backend chosen at load, kept while useBackend('js') is in effect.
let loaded: Backend | null = null;

/**
 * Runs every following call on the JS backend ('js') or back on the backend
 * chosen at load ('native'); false when 'native' was asked for and the
 * addon is not loaded.
 */
export function useBackend(name: 'js' | 'native'): boolean {
  loaded ??= { ...active, info: { ...active.info } };
  if (name === 'js') {
    Object.assign(active, { ops: jsOps, native: null, info: { name: 'js', isa: null, threads: 1, reason: 'internal.useBackend' } });
    return true;
  }
  if (!loaded.native) return false;
  // The addon keeps its own ISA and thread count: report what it runs.
  const n = loaded.native;
  Object.assign(active, { ops: loaded.ops, native: n, info: { ...loaded.info, isa: n.isa(), threads: n.threads() } });
  return true;
}
