/**
 * Not part of the public API (no semver promise): hooks for the benchmark,
 * which compares ISAs within one process. Users cap the ISA with
 * INSTNORM_ISA instead.
 */
import { active, type IsaName } from './backend';

/** ISAs the loaded addon can run here, best first ([] on the JS backend). */
export function nativeIsas(): IsaName[] {
  return active.native ? (active.native.isas() as IsaName[]) : [];
}

/** Switches the native kernels to `isa`; false if it is not available. */
export function setIsa(isa: IsaName): boolean {
  if (!active.native || !active.native.setIsa(isa)) return false;
  active.info.isa = isa;
  return true;
}
