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

/** x must be a Float32Array (any realm, any buffer kind) of exactly `length` elements. */
export function float32(v: unknown, name: string, length: number, expected: string): Float32Array {
  if (!types.isFloat32Array(v)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  }
  if (v.length !== length) {
    throw new RangeError(`${name} must have ${expected} = ${length} elements, got ${v.length}`);
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

/** A channels-first shape [N, C, ...spatial] with at least one spatial dim. */
export function planeShape(shape: unknown, name = 'shape'): PlaneShape {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${name} must be an array [N, C, ...spatial] of positive integers, got ${describe(shape)}`);
  }
  if (shape.length < 3) {
    throw new RangeError(
      `${name} must have rank >= 3 ([N, C, ...spatial], at least one spatial dim), got rank ${shape.length}`,
    );
  }
  let numel = 1;
  let m = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number') {
      throw new TypeError(`${name}[${i}] must be a number, got ${describe(d)}`);
    }
    if (!Number.isSafeInteger(d) || d < 1) {
      throw new RangeError(`${name}[${i}] must be a positive safe integer, got ${d}`);
    }
    numel *= d;
    if (i >= 2) m *= d;
    if (numel > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`${name} [${shape.join(', ')}] has more elements than Number.MAX_SAFE_INTEGER`);
    }
  }
  return { n: shape[0], c: shape[1], m, numel };
}

export function epsilon(v: unknown, name = 'options.eps'): number {
  if (v === undefined) return 1e-5;
  if (typeof v !== 'number') {
    throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  }
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  }
  return v;
}

/** The options object: undefined/null, or a plain object with only known keys. */
export function optionsObject(v: unknown, fn: string, known: readonly string[]): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new TypeError(`${fn}: options must be an object, got ${describe(v)}`);
  }
  for (const key in v) {
    if (!known.includes(key)) {
      throw new TypeError(`${fn}: options.${key} is not an option (expected one of ${known.join(', ')})`);
    }
  }
  return v as Record<string, unknown>;
}

type Named = readonly [name: string, array: Float32Array | null];

function overlaps(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer && a.byteLength > 0 && b.byteLength > 0 &&
    a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function identical(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

/**
 * Outputs must not overlap each other or any input, except that an output
 * may be exactly one of the inputs listed in `inPlace` (elementwise kernels
 * read each element before they write it).
 */
export function noOverlap(outputs: readonly Named[], inputs: readonly Named[], inPlace: readonly string[] = []): void {
  for (let i = 0; i < outputs.length; i++) {
    const [oname, o] = outputs[i];
    if (!o) continue;
    for (let j = i + 1; j < outputs.length; j++) {
      const [pname, q] = outputs[j];
      if (q && overlaps(o, q)) throw new RangeError(`${oname} and ${pname} must not share memory`);
    }
    for (const [iname, x] of inputs) {
      if (!x || !overlaps(o, x)) continue;
      if (i === 0 && inPlace.includes(iname) && identical(o, x)) continue;
      throw new RangeError(
        i === 0 && inPlace.includes(iname)
          ? `${oname} partially overlaps ${iname}; to work in place pass ${iname} itself as ${oname}`
          : `${oname} must not share memory with ${iname}`,
      );
    }
  }
}
