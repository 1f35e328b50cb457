/**
 * Index of the first element whose bits differ, or -1. For "bit-identical"
 * checks on large arrays: much faster than toEqual, and NaN-safe.
 */
export function firstDifference(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  if (a.length !== b.length || a.BYTES_PER_ELEMENT !== b.BYTES_PER_ELEMENT) return 0;
  const words = a.BYTES_PER_ELEMENT / 4;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length * words);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length * words);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return Math.floor(i / words);
  return -1;
}
