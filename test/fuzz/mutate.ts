/**
 * Invalid calls: a valid plan with one thing made wrong. Each mutation
 * returns null when it does not apply to the plan (the next kind is tried).
 * Every result must be refused with a TypeError or RangeError, before
 * anything is written.
 */
import { rng } from '../helpers/data.mjs';
import { at, lit, list, type ArrT, type Plan, replace, type Val, walk } from './model';

export interface Mutant {
  plan: Plan;
  kind: string;
  what: string;
  /** The argument the error message must name (a word of the message), when one is to blame. */
  names?: string;
  /** Only the native backend can see it (two SharedArrayBuffer objects over the same memory). */
  nativeOnly?: boolean;
}

type R = { uniform: () => number };
const pickOf = <T>(r: R, a: readonly T[]): T => a[Math.floor(r.uniform() * a.length)];
const leaf = (path: string) => path.replace(/\[\d+\]$/, '').split('.').pop()!;

/** Sets `path` (positional name, or `options.key` / `options.stats.key`, creating the options object). */
function setAt(p: Plan, path: string, v: Val): Plan | null {
  const parts = path.split('.');
  const i = p.names.indexOf(parts[0]);
  if (i < 0) return null;
  if (parts.length === 1) {
    const args = [...p.args];
    args[i] = v;
    return { ...p, args };
  }
  const put = (cur: Val, rest: string[]): Val | null => {
    const base: Val = cur.k === 'obj' ? cur : cur.k === 'lit' && (cur.v === undefined || cur.v === null) && rest.length === 1 ? { k: 'obj', entries: [] } : cur;
    if (base.k !== 'obj') return null;
    if (rest.length === 1) return { ...base, entries: [...base.entries.filter(([k]) => k !== rest[0]), [rest[0], v]] };
    const child = base.entries.find(([k]) => k === rest[0])?.[1];
    if (!child) return null;
    const next = put(child, rest.slice(1));
    return next && { ...base, entries: base.entries.map(([k, e]) => [k, k === rest[0] ? next : e] as [string, Val]) };
  };
  const nv = put(p.args[i], parts.slice(1));
  if (!nv) return null;
  const args = [...p.args];
  args[i] = nv;
  return { ...p, args };
}

/** Own (not aliased) array arguments. */
function arrays(p: Plan): [string, Extract<Val, { k: 'arr' }>][] {
  const out: [string, Extract<Val, { k: 'arr' }>][] = [];
  walk(p, (path, v) => { if (v.k === 'arr' && !v.alias) out.push([path, v]); });
  return out;
}

const required = (path: string) => !path.startsWith('options.') || path.startsWith('options.stats.');

const MUTATIONS: Record<string, (p: Plan, r: R) => Mutant | null> = {
  badValue(p, r) {
    const paths = Object.keys(p.bad).filter((k) => p.bad[k].length > 0);
    if (!paths.length) return null;
    const path = pickOf(r, paths);
    const v = pickOf(r, p.bad[path]);
    const q = setAt(p, path, lit(v));
    return q && { plan: q, kind: 'badValue', what: `${path} = ${String(v)}`, names: leaf(path) };
  },
  arrayType(p, r) {
    const all = arrays(p);
    if (!all.length) return null;
    const [path, a] = pickOf(r, all);
    const ok = p.accept[path] ?? [a.t];
    const n = a.data.length;
    const wrong: [string, unknown][] = [
      ['Float64Array', new Float64Array(n)], ['Float32Array', new Float32Array(n)], ['Int32Array', new Int32Array(n)],
      ['Uint32Array', new Uint32Array(n)], ['Uint8Array', new Uint8Array(n * 4)], ['Array', Array.from(a.data)],
      ['DataView', new DataView(new ArrayBuffer(n * 4))], ['number', 1], ['string', 'x'], ['object', { length: n }], ['boolean', true],
    ];
    const allowed: Record<string, ArrT> = { Float64Array: 'f64', Float32Array: 'f32', Int32Array: 'i32', Uint32Array: 'u32', Uint8Array: 'u8' };
    const candidates = wrong.filter(([name]) => !(allowed[name] && ok.includes(allowed[name])));
    if (required(path)) candidates.push(['null', null], ['undefined', undefined]);
    const [name, v] = pickOf(r, candidates);
    const q = setAt(p, path, lit(v));
    return q && { plan: q, kind: 'arrayType', what: `${path} as ${name}`, names: leaf(path) };
  },
  arrayLength(p, r) {
    const all = arrays(p);
    if (!all.length) return null;
    const [path, a] = pickOf(r, all);
    const n = a.data.length;
    const lens = [n - 1, n + 1, 0, 2 * n + 1, n + 7].filter((l) => l >= 0 && !p.validLength(path, l));
    if (!lens.length) return null;
    const len = pickOf(r, lens);
    const q = setAt(p, path, { ...a, data: Float64Array.from({ length: len }, (_, i) => a.data[i % Math.max(1, n)] ?? 0) });
    return q && { plan: q, kind: 'arrayLength', what: `${path} of length ${len} (not ${n})`, names: leaf(path) };
  },
  overlap(p, r) {
    if (!p.slots.length) return null;
    const slot = pickOf(r, p.slots);
    const targets = arrays(p).filter(([path, a]) => path !== slot.path && !p.unread.includes(path) && a.t === 'f32');
    if (!targets.length) return null;
    const [t, ta] = pickOf(r, targets);
    const clone = r.uniform() < 0.4;
    for (let tries = 0; tries < 8; tries++) {
      const shift = Math.floor(r.uniform() * (ta.data.length + slot.len - 1)) - (slot.len - 1);
      const identical = shift === 0 && slot.len === ta.data.length;
      if (identical && (p.inPlace[slot.path] ?? []).includes(t)) continue;
      let q: Plan | null = p;
      if (clone) q = replace(p, t, { ...ta, shared: true, resizable: false });
      const view: Val = { k: 'arr', t: 'f32', data: new Float32Array(slot.len), role: 'out', shared: clone, alias: { of: t, how: clone ? 'clone' : 'view', shift } };
      q = setAt(q, slot.path, view);
      return q && { plan: q, kind: clone ? 'overlapClone' : 'overlap', what: `${slot.path} over ${t} at ${shift}${clone ? ' (cloned SharedArrayBuffer)' : ''}`, nativeOnly: clone };
    }
    return null;
  },
  unknownOption(p, r) {
    if (!p.names.includes('options')) return null;
    const key = pickOf(r, ['gama', 'Layout', 'outt', 'axis', 'foo', '__proto__', 'constructor', 'toString', 'epsilon']);
    const q = setAt(p, `options.${key}`, lit(1));
    return q && { plan: q, kind: 'unknownOption', what: `options.${key}`, names: key };
  },
  optionsType(p, r) {
    const i = p.names.indexOf('options');
    if (i < 0) return null;
    const v = pickOf(r, [5, 'NCHW', true, [], new Map(), new Set(), new Float32Array(3), () => ({}), Symbol('options'), 1n]);
    const args = [...p.args];
    args[i] = lit(v);
    return { plan: { ...p, args }, kind: 'optionsType', what: `options = ${typeof v}`, names: 'options' };
  },
  missingArg(p, r) {
    const positional = p.names.filter((n) => n !== 'options');
    if (!positional.length) return null;
    const name = pickOf(r, positional);
    const v = r.uniform() < 0.5 ? null : undefined;
    const q = setAt(p, name, lit(v));
    return q && { plan: q, kind: 'missingArg', what: `${name} = ${v}`, names: name };
  },
  shape(p, r) {
    const shapes = p.names.filter((n) => /[sS]hape$/.test(n));
    if (!shapes.length) return null;
    const name = pickOf(r, shapes);
    const cur = at(p, name);
    if (!cur || cur.k !== 'list') return null;
    const dims = cur.items.map((v) => (v.k === 'lit' ? v.v : 1)) as number[];
    const i = Math.floor(r.uniform() * dims.length);
    const rowOp = p.names.includes('normalizedRank');
    const options: [string, Val][] = [
      ['a dim made 0, negative, fractional or not a number', list(dims.map((d, k) => (k === i ? pickOf(r, [0, -1, -0, 1.5, NaN, Infinity, '3', null, undefined, 2 ** 53, 1e300]) : d)))],
      ['a dim doubled', list(dims.map((d, k) => (k === i ? d * 2 : d)))],
      ['rank too small', list(rowOp ? [] : dims.slice(0, 1))],
      ['not an array', lit(pickOf(r, [dims.join(','), { ...Object.fromEntries(dims.map((d, k) => [k, d])), length: dims.length }, Int32Array.from(dims), 5, null, undefined]))],
      ['huge dims', list(pickOf(r, [[2 ** 26, 2 ** 26, 2 ** 26], [1, 1, 2 ** 40], [2 ** 31, dims[1] ?? 1, 1], [2 ** 53 - 1, 2, 2]]))],
    ];
    const [what, v] = pickOf(r, options);
    const q = setAt(p, name, v);
    return q && { plan: q, kind: 'shape', what: `${name}: ${what}` };
  },
  getterBad(p, r) {
    // An option or a dim whose first read is wrong and later reads are right.
    const o = at(p, 'options');
    const keys = o?.k === 'obj' ? o.entries.filter(([k]) => p.bad[`options.${k}`]?.length).map(([k]) => k) : [];
    if (keys.length && o?.k === 'obj' && r.uniform() < 0.6) {
      const key = pickOf(r, keys);
      const good = o.entries.find(([k]) => k === key)![1];
      const badV = pickOf(r, p.bad[`options.${key}`]);
      const nv: Val = { ...o, entries: o.entries.map(([k, e]) => [k, k === key ? lit(badV) : e] as [string, Val]), getters: { [key]: good } };
      const q = setAt(p, 'options', nv);
      return q && { plan: q, kind: 'getterBad', what: `options.${key} reads ${String(badV)} first`, names: key };
    }
    const name = p.names.find((n) => /[sS]hape$/.test(n));
    const cur = name ? at(p, name) : undefined;
    if (!name || cur?.k !== 'list' || !cur.items.length) return null;
    const i = Math.floor(r.uniform() * cur.items.length);
    const nv: Val = { ...cur, items: cur.items.map((v, k) => (k === i ? lit(0) : v)), getters: { [i]: cur.items[i] } };
    const q = setAt(p, name, nv);
    return q && { plan: q, kind: 'getterBad', what: `${name}[${i}] reads 0 first` };
  },
  resizable(p, r) {
    if (!p.fn.endsWith('Async')) return null;
    const all = arrays(p).filter(([path, a]) => !p.unread.includes(path) && a.t === 'f32');
    if (!all.length) return null;
    const [path, a] = pickOf(r, all);
    const q = replace(p, path, { ...a, shared: false, resizable: true });
    return { plan: q, kind: 'resizable', what: `${path} on a resizable ArrayBuffer`, names: leaf(path) };
  },
  detached(p, r) {
    const all = arrays(p);
    if (!all.length) return null;
    const [path, a] = pickOf(r, all);
    const q = replace(p, path, { ...a, shared: false, resizable: false, detached: true });
    return { plan: q, kind: 'detached', what: `${path} detached before the call`, names: leaf(path) };
  },
  variant(p, r) {
    if (!p.variants.length) return null;
    const i = Math.floor(r.uniform() * p.variants.length);
    return { plan: p.variants[i], kind: 'variant', what: `op-specific invalid call #${i}` };
  },
};

export const MUTATION_KINDS = Object.keys(MUTATIONS);

/** The mutation of kind index `pick` (or the next kind that applies), driven by `seed`. */
export function mutate(p: Plan, pick: number, seed: number): Mutant {
  const r = rng(seed);
  for (let k = 0; k < MUTATION_KINDS.length; k++) {
    const m = MUTATIONS[MUTATION_KINDS[(pick + k) % MUTATION_KINDS.length]](p, r);
    if (m) return m;
  }
  // Every plan has at least an argument count to get wrong.
  return { plan: { ...p, args: [lit(Symbol('not an argument')), ...p.args] }, kind: 'shifted', what: 'arguments shifted by one' };
}
