/**
 * Building blocks of the valid-call generators: tensor geometries (odd
 * sizes, both layouts, now and then one above the kernels' threading
 * threshold), data of the parity grids' kinds, arrays that may live on a
 * SharedArrayBuffer, absent options spelled every way JavaScript allows.
 */
import fc from 'fast-check';
import { makeData, normals, toNHWC } from '../helpers/data.mjs';
import { arr, lit, type Plan, type Val } from './model';

export const DATA_KINDS = ['normal', 'offset', 'tiny', 'constant planes', 'mixed'] as const;
export type Layout = 'NCHW' | 'NHWC';

export interface Geo {
  n: number;
  c: number;
  sp: number[];
  /** Elements per plane (product of sp, 1 for none). */
  m: number;
  numel: number;
  layout: Layout;
  /** Pass layout explicitly even when it is the default. */
  explicit: boolean;
  /** The shape in this layout. */
  shape: number[];
}

const SMALL_DIMS = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33];
const CHANNELS = [1, 2, 3, 4, 5, 6, 8, 12, 16, 17, 32, 33, 64];
/** Above the 256Ki-element threshold at which native kernels go multi-threaded. */
const LARGE: [number, number, number[]][] = [[2, 64, [48, 48]], [1, 3, [300, 300]], [4, 1, [70001]], [1, 1024, [263]]];

export function makeGeo(n: number, c: number, sp: number[], layout: Layout, explicit: boolean): Geo {
  const m = sp.reduce((a, b) => a * b, 1);
  const shape = layout === 'NCHW' ? [n, c, ...sp] : [n, ...sp, c];
  return { n, c, sp, m, numel: n * c * m, layout, explicit, shape };
}

/** [N, C, ...spatial] geometries with minSpatial..3 spatial dims and at most ~20k elements (1 in 40: ~300k). */
export function geoArb(minSpatial = 1, maxNumel = 20_000): fc.Arbitrary<Geo> {
  const small = fc
    .record({
      n: fc.integer({ min: 1, max: 4 }),
      c: fc.constantFrom(...CHANNELS),
      sp: fc.array(fc.constantFrom(...SMALL_DIMS), { minLength: minSpatial, maxLength: 3 }),
    })
    .filter((r) => r.n * r.c * r.sp.reduce((a, b) => a * b, 1) <= maxNumel);
  const large = fc.constantFrom(...LARGE).map(([n, c, sp]) => ({ n, c, sp }));
  return fc
    .tuple(fc.oneof({ weight: 39, arbitrary: small }, { weight: 1, arbitrary: large }), fc.constantFrom<Layout>('NCHW', 'NHWC'), fc.boolean())
    .map(([r, layout, explicit]) => makeGeo(r.n, r.c, r.sp, layout, explicit));
}

/** x of a data kind, generated channels-first then laid out as the geometry says. */
export function tensorData(kind: string, seed: number, g: Geo): Float32Array {
  const x = makeData(kind, [g.n, g.c, g.m], seed) as Float32Array;
  return g.layout === 'NHWC' ? (toNHWC(x, [g.n, g.c, g.m]) as Float32Array) : x;
}

export const vec = (len: number, seed: number, offset = 0, scale = 1) => normals(len, seed, offset, scale) as Float32Array;
/** Positive values (variances). */
export const positive = (len: number, seed: number) => Float32Array.from(vec(len, seed), (v) => 0.05 + v * v);

/** How an absent option is spelled: left out, undefined or null (all mean absent). */
export type Absent = 'omit' | 'undefined' | 'null';
export const absentArb = fc.constantFrom<Absent>('omit', 'undefined', 'null');

/** An option entry: the value, or the absent spelling (undefined entry = left out). */
export function opt(present: boolean, v: () => Val, absent: Absent): Val | undefined {
  if (present) return v();
  return absent === 'omit' ? undefined : lit(absent === 'null' ? null : undefined);
}

/** The options argument: as built, or (when it has no entries) left out / undefined / null / {}. */
export function optionsArg(o: Val, empty: Absent | 'object'): Val {
  if (o.k === 'obj' && o.entries.length === 0 && empty !== 'object') return lit(empty === 'null' ? null : undefined);
  return o;
}

/** A Float32Array input, on a SharedArrayBuffer when `shared`. */
export const f32 = (data: ArrayLike<number>, shared: boolean): Val => arr('f32', data, 'in', shared);

/** An output the caller supplies (its initial content must not matter: see materialize's salt). */
export const out32 = (len: number, shared: boolean): Val => arr('f32', new Float32Array(len), 'out', shared);

/** An output that is exactly the input at `of` (in place). */
export const inPlace = (of: string, len: number): Val => ({
  k: 'arr', t: 'f32', data: new Float32Array(len), role: 'out', shared: false, alias: { of, how: 'same', shift: 0 },
});

/** Bits of a mask as booleans (which arrays go on a SharedArrayBuffer). */
export const bit = (mask: number, i: number) => ((mask >>> i) & 1) === 1;

export const EPS = [undefined, 1e-5, 1e-3, 0.5, 0] as const;
export const epsArb = fc.constantFrom(...EPS);

/** Values that are never valid for these common options. */
export const BAD = {
  eps: [-1, -1e-30, NaN, Infinity, -Infinity, '1e-5', true, {}, 1n],
  layout: ['nchw', 'NCDHW', 'CHW', '', 1, true, {}, ['NCHW']],
  boolean: [1, 0, 'true', 'false', {}, [true]],
  unit: [-0.1, 1.5, NaN, Infinity, -Infinity, '0.1', true, {}],
};

/** Fills in the parts of a Plan most ops share. */
export function plan(p: Partial<Plan> & Pick<Plan, 'fn' | 'names' | 'args' | 'checks'>): Plan {
  return {
    slots: [], inPlace: {}, unread: [], accept: {}, bad: {}, variants: [],
    validLength: (path: string, len: number) => len === lengthAt(p.args, p.names, path),
    ...p,
  };
}

function lengthAt(args: Val[], names: string[], path: string): number {
  const parts = path.split('.');
  let v: Val | undefined = args[names.indexOf(parts[0])];
  for (const key of parts.slice(1)) v = v?.k === 'obj' ? v.entries.find(([k]) => k === key)?.[1] : undefined;
  return v?.k === 'arr' ? v.data.length : -1;
}

/** Divisors of c, ascending. */
export const divisors = (c: number) => Array.from({ length: c }, (_, i) => i + 1).filter((d) => c % d === 0);
