/**
 * Argument checks for the public API. Every check runs before any kernel
 * touches memory, identically for both backends, so a bad call throws a
 * TypeError (wrong type) or RangeError (wrong size or value) that names the
 * argument, and writes nothing.
 */
import { types } from 'node:util';

/** A short description of a value for error messages. */
const article = (word: string): string => (/^[AEIOUaeiou]/.test(word) ? `an ${word}` : `a ${word}`);

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an Array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return article(v.constructor?.name ?? 'typed array');
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return `an object (${Object.prototype.toString.call(v)})`;
  return article(typeof v);
}

// The intrinsic %TypedArray% accessors: a subclass cannot fake what they
// report (an overridden `length` or `byteOffset` getter is not consulted).
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (name: string) => Object.getOwnPropertyDescriptor(typedArrayProto, name)!.get as (this: unknown) => never;
const lengthGetter = intrinsic('length');
const byteOffsetGetter = intrinsic('byteOffset');
const bufferGetter = intrinsic('buffer');
const lengthOf = (a: Float32Array): number => lengthGetter.call(a);
const byteOffsetOf = (a: Float32Array): number => byteOffsetGetter.call(a);
const bufferOf = (a: Float32Array): ArrayBufferLike => bufferGetter.call(a);

/** x must be a Float32Array (any realm, any buffer kind) of exactly `length` elements. */
export function float32(v: unknown, name: string, length: number, expected: string): Float32Array {
  if (!types.isFloat32Array(v)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  }
  const n = lengthOf(v);
  if (n !== length) {
    throw new RangeError(`${name} must have ${expected} = ${length} elements, got ${n}`);
  }
  return v;
}

/** An optional Float32Array option: undefined/null means absent. */
export function optionalFloat32(
  v: unknown, name: string, length: number, expected: string,
): Float32Array | null {
  return v === undefined || v === null ? null : float32(v, name, length, expected);
}

export interface PlaneShape {
  /** Batch size. */
  n: number;
  /** Channels. */
  c: number;
  /** Elements per plane (product of the spatial dims). */
  m: number;
  numel: number;
}

/** The largest rank a shape may have (PyTorch's limit is 64 too). */
export const MAX_RANK = 64;

/** Dims of a shape, each read once (a getter cannot change it between check and use). */
export function dimsOf(shape: unknown, name: string, minRank: number, form: string): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${name} must be an array ${form} of positive integers, got ${describe(shape)}`);
  }
  // The length is read once (a Proxy could make it grow while we loop).
  const rank: unknown = shape.length;
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank > MAX_RANK) {
    throw new RangeError(`${name} must have rank <= ${MAX_RANK} (${form}), got rank ${String(rank)}`);
  }
  if (rank < minRank) {
    throw new RangeError(`${name} must have rank >= ${minRank} (${form}), got rank ${rank}`);
  }
  const dims: number[] = [];
  let numel = 1;
  for (let i = 0; i < rank; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number') {
      throw new TypeError(`${name}[${i}] must be a number, got ${describe(d)}`);
    }
    if (!Number.isSafeInteger(d) || d < 1) {
      throw new RangeError(`${name}[${i}] must be a positive safe integer, got ${d}`);
    }
    dims.push(d);
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`${name} [${dims.join(', ')}, ...] has more elements than Number.MAX_SAFE_INTEGER`);
    }
  }
  return dims;
}

export type Layout = 'NCHW' | 'NHWC';

/** options.layout: 'NCHW' (channels-first, the default) or 'NHWC' (channels-last), for any spatial rank. */
export function layout(v: unknown, name = 'options.layout'): Layout {
  if (v === undefined || v === null) return 'NCHW';
  if (v === 'NCHW' || v === 'NHWC') return v;
  if (typeof v !== 'string') throw new TypeError(`${name} must be 'NCHW' or 'NHWC', got ${describe(v)}`);
  throw new RangeError(`${name} must be 'NCHW' (channels-first) or 'NHWC' (channels-last), got ${describe(v)}`);
}

/**
 * A shape [N, C, ...spatial] (NCHW) or [N, ...spatial, C] (NHWC) with at
 * least `minSpatial` spatial dims (batch norm also takes [N, C]).
 */
export function planeShape(shape: unknown, name = 'shape', lay: Layout = 'NCHW', minSpatial = 1): PlaneShape {
  const form = lay === 'NCHW' ? '[N, C, ...spatial]' : '[N, ...spatial, C]';
  const dims = dimsOf(shape, name, 2 + minSpatial, minSpatial ? `${form}, at least one spatial dim` : form);
  const n = dims[0];
  const c = lay === 'NCHW' ? dims[1] : dims[dims.length - 1];
  const numel = dims.reduce((a, b) => a * b, 1);
  return { n, c, m: numel / (n * c), numel };
}

/** An integer option or argument in [min, max]. */
export function integer(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

/** A finite number in [min, max], or `fallback` when undefined/null. */
export function numberIn(v: unknown, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new RangeError(`${name} must be a finite number in [${min}, ${max}], got ${v}`);
  }
  return v;
}

export function boolean(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/**
 * An affine parameter that may be per channel (length C) or per sample
 * (length N*C, index n*C + c). Returns the array and whether it is per sample.
 */
export function affineParam(
  v: unknown, name: string, n: number, c: number,
): { a: Float32Array | null; perSample: boolean } {
  if (v === undefined || v === null) return { a: null, perSample: false };
  if (!types.isFloat32Array(v)) throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  const len = lengthOf(v);
  if (len === c) return { a: v, perSample: false };
  if (len === n * c) return { a: v, perSample: true };
  throw new RangeError(`${name} must have C = ${c} (per channel) or N*C = ${n * c} (per sample) elements, got ${len}`);
}

/** A Float32Array or Float64Array of exactly `length` elements, as float64 values. */
export function floatArray(v: unknown, name: string, length: number, expected: string): Float32Array | Float64Array {
  if (!types.isFloat32Array(v) && !types.isFloat64Array(v)) {
    throw new TypeError(`${name} must be a Float32Array or Float64Array, got ${describe(v)}`);
  }
  const n = lengthGetter.call(v) as number;
  if (n !== length) throw new RangeError(`${name} must have ${expected} = ${length} elements, got ${n}`);
  return v;
}

/** A Float64Array of exactly `length` elements. */
export function float64(v: unknown, name: string, length: number, expected: string): Float64Array {
  if (!types.isFloat64Array(v)) throw new TypeError(`${name} must be a Float64Array, got ${describe(v)}`);
  const n = lengthGetter.call(v) as number;
  if (n !== length) throw new RangeError(`${name} must have ${expected} = ${length} elements, got ${n}`);
  return v;
}

/** Length of a typed array through the intrinsic getter. */
export function lengthOfArray(v: ArrayBufferView): number {
  return lengthGetter.call(v) as number;
}

export function epsilon(v: unknown, name = 'options.eps'): number {
  if (v === undefined || v === null) return 1e-5;
  if (typeof v !== 'number') {
    throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  }
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  }
  return v;
}

/**
 * The options object (undefined/null, or an object whose own keys are all
 * known), as a snapshot: each option is read exactly once, before anything
 * is validated, so a getter cannot change an argument after its check.
 */
export function optionsObject<K extends string>(
  v: unknown, fn: string, known: ReadonlySet<K>,
): Partial<Record<K, unknown>> {
  const snapshot: Partial<Record<K, unknown>> = {};
  if (v === undefined || v === null) return snapshot;
  if (typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v) || types.isMap(v) || types.isSet(v)) {
    throw new TypeError(`${fn}: options must be a plain object, got ${describe(v)}`);
  }
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!known.has(key as K)) {
      throw new TypeError(`${fn}: options.${key} is not an option (expected one of ${[...known].join(', ')})`);
    }
    snapshot[key as K] = o[key];
  }
  return snapshot;
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  const la = lengthOf(a) * 4;
  const lb = lengthOf(b) * 4;
  const oa = byteOffsetOf(a);
  const ob = byteOffsetOf(b);
  return la > 0 && lb > 0 && bufferOf(a) === bufferOf(b) && oa < ob + lb && ob < oa + la;
}

function identical(a: Float32Array, b: Float32Array): boolean {
  return bufferOf(a) === bufferOf(b) && byteOffsetOf(a) === byteOffsetOf(b) && lengthOf(a) === lengthOf(b);
}

/**
 * Outputs must not overlap each other or any input, except that outputs[0]
 * may be exactly one of the first `inPlace` inputs (elementwise kernels read
 * each element before they write it). Absent arrays are null.
 */
export function noOverlap(
  outputs: readonly (Float32Array | null)[], outNames: readonly string[],
  inputs: readonly (Float32Array | null)[], inNames: readonly string[], inPlace: number,
): void {
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i];
    if (!o) continue;
    for (let j = i + 1; j < outputs.length; j++) {
      const q = outputs[j];
      if (q && overlaps(o, q)) throw new RangeError(`${outNames[i]} and ${outNames[j]} must not share memory`);
    }
    for (let j = 0; j < inputs.length; j++) {
      const x = inputs[j];
      if (!x || !overlaps(o, x)) continue;
      const mayAlias = i === 0 && j < inPlace;
      if (mayAlias && identical(o, x)) continue;
      throw new RangeError(
        mayAlias
          ? `${outNames[i]} partially overlaps ${inNames[j]}; to work in place pass ${inNames[j]} itself as ${outNames[i]}`
          : `${outNames[i]} must not share memory with ${inNames[j]}`,
      );
    }
  }
}

/**
 * Async calls keep working on the arrays' memory after returning, so their
 * buffers must not be able to shrink meanwhile: a resizable ArrayBuffer is
 * refused. (A growable SharedArrayBuffer only grows, which is safe.)
 */
export function fixedLength(fn: string, arrays: readonly (Float32Array | null)[], names: readonly string[]): void {
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i];
    if (a && (bufferOf(a) as ArrayBuffer & { resizable?: boolean }).resizable === true) {
      throw new TypeError(`${fn}: ${names[i]} is backed by a resizable ArrayBuffer, which could shrink while the kernel runs; use a fixed-length buffer`);
    }
  }
}

/** A backward's saved statistics: mean and rstd both given, or neither. */
export function savedTogether(fn: string, mean: Float32Array | null, rstd: Float32Array | null): void {
  if ((mean === null) !== (rstd === null)) {
    throw new TypeError(`${fn}: options.mean and options.rstd must be given together (got only ${mean ? 'mean' : 'rstd'})`);
  }
}
