/**
 * A fuzzed call as data: which exported function, and each argument as a
 * value description that can be turned into real arguments any number of
 * times (once per backend and ISA), always with identical bytes. Arrays get
 * their own buffer with guard bytes on both sides (ASan cannot see a write
 * past the end of a view that stays inside its buffer), may live on a
 * SharedArrayBuffer, and may alias another argument: the same object (in
 * place), a view over the same buffer, or a view over a structuredClone of
 * a SharedArrayBuffer (another buffer object over the same memory).
 */
export type ArrT = 'f32' | 'f64' | 'i32' | 'u32' | 'u8';
export type Role = 'in' | 'out' | 'inout';

export interface Alias {
  of: string;
  how: 'same' | 'view' | 'clone';
  /** Element offset of this view from the start of the aliased array (view, clone). */
  shift: number;
}

export type Val =
  | { k: 'lit'; v: unknown }
  | { k: 'arr'; t: ArrT; data: ArrayLike<number>; role: Role; shared: boolean; alias?: Alias; resizable?: boolean; detached?: boolean }
  | { k: 'obj'; entries: [string, Val][]; getters?: Record<string, Val> }
  | { k: 'list'; items: Val[]; getters?: Record<number, Val> };

/** How a result (by key; `y` for a returned array) or an in-out array (by path) is compared across backends. */
export type Check =
  | { kind: 'fwd'; tol: number } // max |a - b| / (1 + max |b|)
  | { kind: 'scaled'; tol: number; scale: number } // max |a - b| / max(max |b|, scale)
  | { kind: 'rel'; tol: number } // elementwise |a / b - 1|
  | { kind: 'exact' };

/**
 * One call: `fn` is the export's name; `names` name the positional
 * arguments (paths start there: `options.out`, `options.stats.mean`). The
 * rest says what the invalid-call mutations need to know about this op.
 */
export interface Plan {
  fn: string;
  names: string[];
  args: Val[];
  /** Every output option of this call with its length (present or not). */
  slots: { path: string; len: number }[];
  /** Output path -> the inputs it may be exactly (an in-place call). */
  inPlace: Record<string, string[]>;
  /**
   * Arrays the kernels never read from the caller's memory: copied by the
   * facade before anything runs, or accepted and unused (a backward's beta).
   * An output over them is harmless, and async calls do not hold them.
   */
  unread: string[];
  /** Element types accepted per array path (default: the array's own). */
  accept: Record<string, ArrT[]>;
  /** Lengths a mutated array may NOT take without the call becoming valid (default: its own length). */
  validLength: (path: string, len: number) => boolean;
  /** Values that are always invalid, per literal path (option keys may be absent from the plan). */
  bad: Record<string, unknown[]>;
  /** Op-specific invalid calls (each must throw). */
  variants: Plan[];
  /** How each result compares with the JS backend's. */
  checks: Record<string, Check>;
}

export const lit = (v: unknown): Val => ({ k: 'lit', v });
export const arr = (t: ArrT, data: ArrayLike<number>, role: Role = 'in', shared = false): Val => ({ k: 'arr', t, data, role, shared });
export const obj = (entries: [string, Val | undefined][]): Val => ({
  k: 'obj', entries: entries.filter((e): e is [string, Val] => e[1] !== undefined),
});
export const list = (items: unknown[]): Val => ({ k: 'list', items: items.map(lit) });

const CTOR = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array } as const;
/** Guard bytes around every array (and their value: a NaN payload as float32). */
const PAD_BYTES = 64;
const GUARD = 0xa5;

/** Every (path, value) in a plan, depth first; object entries are `parent.key`, list items `parent[i]`. */
export function walk(plan: Plan, visit: (path: string, v: Val) => void): void {
  const go = (path: string, v: Val) => {
    visit(path, v);
    if (v.k === 'obj') for (const [key, e] of v.entries) go(`${path}.${key}`, e);
  };
  plan.args.forEach((v, i) => go(plan.names[i] ?? `arg${i}`, v));
}

/** The value at `path`, or undefined. */
export function at(plan: Plan, path: string): Val | undefined {
  let found: Val | undefined;
  walk(plan, (p, v) => { if (p === path) found = v; });
  return found;
}

/** A copy of the plan with the value at `path` replaced (or removed from its object when `v` is undefined). */
export function replace(plan: Plan, path: string, v: Val | undefined): Plan {
  const go = (p: string, cur: Val): Val | undefined => {
    if (p === path) return v;
    if (cur.k !== 'obj') return cur;
    const entries: [string, Val][] = [];
    for (const [key, e] of cur.entries) {
      const r = go(`${p}.${key}`, e);
      if (r !== undefined) entries.push([key, r]);
    }
    return { ...cur, entries };
  };
  return { ...plan, args: plan.args.map((a, i) => go(plan.names[i] ?? `arg${i}`, a) ?? lit(undefined)) };
}

/** An array made for one run: the view handed to the library and where it sits. */
export interface LiveArray {
  path: string;
  view: ArrayBufferView & ArrayLike<number>;
  role: Role;
  /** The array the value was made from (not an alias of another). */
  own: boolean;
}

export interface Live {
  args: unknown[];
  arrays: LiveArray[];
  /** Every buffer object created, with the bytes it held before the call. */
  buffers: { buffer: ArrayBufferLike; before: Uint8Array }[];
  /** Getter reads per path (each option and shape element must be read once). */
  reads: Map<string, number>;
}

/**
 * Builds the real arguments of a plan (fresh memory every time). Outputs
 * the caller supplies start with content that depends on `salt`, so two
 * runs with different salts agree only if every output element is written.
 */
export function materialize(plan: Plan, salt = 0): Live {
  const live: Live = { args: [], arrays: [], buffers: [], reads: new Map() };
  // Room each aliased array needs around it for the views over it.
  const need = new Map<string, { before: number; after: number }>();
  walk(plan, (_p, v) => {
    if (v.k !== 'arr' || !v.alias || v.alias.how === 'same') return;
    const target = at(plan, v.alias.of);
    if (!target || target.k !== 'arr') return;
    const n = need.get(v.alias.of) ?? { before: 0, after: 0 };
    const bytes = CTOR[v.t].BYTES_PER_ELEMENT;
    n.before = Math.max(n.before, -v.alias.shift * bytes);
    n.after = Math.max(n.after, (v.alias.shift + v.data.length) * bytes - target.data.length * CTOR[target.t].BYTES_PER_ELEMENT);
    need.set(v.alias.of, n);
  });
  const byPath = new Map<string, LiveArray>();
  const pending: [string, Extract<Val, { k: 'arr' }>, (x: unknown) => void][] = [];

  const make = (path: string, v: Extract<Val, { k: 'arr' }>) => {
    const Ctor = CTOR[v.t];
    const room = need.get(path) ?? { before: 0, after: 0 };
    const el = Ctor.BYTES_PER_ELEMENT;
    const before = Math.ceil((PAD_BYTES + room.before) / 8) * 8;
    const after = PAD_BYTES + room.after;
    const bytes = before + v.data.length * el + after;
    const buffer = v.shared ? new SharedArrayBuffer(bytes)
      : v.resizable ? new ArrayBuffer(bytes, { maxByteLength: 2 * bytes }) : new ArrayBuffer(bytes);
    new Uint8Array(buffer).fill(GUARD);
    const view = new Ctor(buffer, before, v.data.length);
    if (v.role === 'out' && salt !== 0) for (let i = 0; i < v.data.length; i++) view[i] = ((i * 7919 + salt * 104729) % 2001) - 1000;
    else for (let i = 0; i < v.data.length; i++) view[i] = v.data[i];
    if (v.detached) {
      // Transferred away before the call: the view is now of length 0.
      structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
      return view;
    }
    const a: LiveArray = { path, view, role: v.role, own: true };
    byPath.set(path, a);
    live.arrays.push(a);
    return view;
  };
  const value = (path: string, v: Val, set: (x: unknown) => void): void => {
    if (v.k === 'lit') return set(v.v);
    if (v.k === 'arr') {
      if (v.alias) pending.push([path, v, set]);
      else set(make(path, v));
      return;
    }
    if (v.k === 'list') {
      const out: unknown[] = [];
      v.items.forEach((item, i) => value(`${path}[${i}]`, item, (x) => { out[i] = x; }));
      for (const [i, g] of Object.entries(v.getters ?? {})) getter(out, i, `${path}[${i}]`, out[Number(i)], g);
      return set(out);
    }
    const o: Record<string, unknown> = {};
    for (const [key, e] of v.entries) {
      value(`${path}.${key}`, e, (x) => { Object.defineProperty(o, key, { value: x, enumerable: true, writable: true, configurable: true }); });
    }
    for (const [key, g] of Object.entries(v.getters ?? {})) getter(o, key, `${path}.${key}`, o[key], g);
    set(o);
  };
  // A property whose first read gives `first` and every later read the value of `later`.
  const getter = (o: object, key: string, path: string, first: unknown, later: Val) => {
    let then: unknown;
    value(`${path}#later`, later, (x) => { then = x; });
    Object.defineProperty(o, key, {
      enumerable: true,
      configurable: true,
      get() {
        const n = (live.reads.get(path) ?? 0) + 1;
        live.reads.set(path, n);
        return n === 1 ? first : then;
      },
    });
  };

  plan.args.forEach((v, i) => value(plan.names[i] ?? `arg${i}`, v, (x) => { live.args[i] = x; }));
  for (const [path, v, set] of pending) {
    const target = byPath.get(v.alias!.of);
    // A mutation replaced the aliased array by a non-array: this one stands alone.
    if (!target) {
      set(make(path, { ...v, alias: undefined }));
      continue;
    }
    if (v.alias!.how === 'same') {
      set(target.view);
      live.arrays.push({ path, view: target.view, role: v.role, own: false });
      continue;
    }
    const buffer = v.alias!.how === 'clone' ? structuredClone(target.view.buffer) : target.view.buffer;
    const Ctor = CTOR[v.t];
    const view = new Ctor(buffer, target.view.byteOffset + v.alias!.shift * Ctor.BYTES_PER_ELEMENT, v.data.length);
    if (v.alias!.how === 'clone') live.buffers.push({ buffer, before: new Uint8Array(0) });
    live.arrays.push({ path, view, role: v.role, own: false });
    set(view);
  }
  for (const a of live.arrays) if (a.own) live.buffers.push({ buffer: a.view.buffer, before: new Uint8Array(0) });
  for (const b of live.buffers) b.before = new Uint8Array(b.buffer.slice(0));
  return live;
}

/** Index of the first byte of any buffer that changed since materialize, as `buffer i byte j`, or null. */
export function firstChangedByte(live: Live): string | null {
  for (let i = 0; i < live.buffers.length; i++) {
    const { buffer, before } = live.buffers[i];
    const now = new Uint8Array(buffer);
    if (now.length !== before.length) return `buffer ${i}: length ${before.length} -> ${now.length}`;
    for (let j = 0; j < now.length; j++) if (now[j] !== before[j]) return `buffer ${i} byte ${j}`;
  }
  return null;
}

/**
 * After a successful call: bytes outside the outputs unchanged (inputs
 * untouched, guards intact). Returns a description of the first violation.
 */
export function writesOutsideOutputs(live: Live): string | null {
  for (const { buffer, before } of live.buffers) {
    const now = new Uint8Array(buffer);
    const writable = live.arrays
      .filter((a) => a.role !== 'in' && a.view.buffer === buffer)
      .map((a) => [a.view.byteOffset, a.view.byteOffset + a.view.byteLength] as const);
    for (let j = 0; j < now.length; j++) {
      if (now[j] === before[j] || writable.some(([s, e]) => j >= s && j < e)) continue;
      const owner = live.arrays.find((a) => a.view.buffer === buffer && j >= a.view.byteOffset && j < a.view.byteOffset + a.view.byteLength);
      return owner ? `input ${owner.path} changed at byte ${j - owner.view.byteOffset}` : `guard byte ${j} of a buffer changed`;
    }
  }
  return null;
}

/** A short, reproducible description of a plan for failure messages. */
export function describePlan(plan: Plan): string {
  const show = (v: Val): string => {
    if (v.k === 'lit') return showLit(v.v);
    if (v.k === 'arr') {
      const a = v.alias ? `~${v.alias.how}(${v.alias.of}${v.alias.shift ? `,${v.alias.shift}` : ''})` : '';
      return `${v.t}[${v.data.length}]${v.shared ? 'S' : ''}${v.resizable ? 'R' : ''}${v.detached ? 'D' : ''}${v.role === 'in' ? '' : `:${v.role}`}${a}`;
    }
    if (v.k === 'list') return `[${v.items.map(show).join(', ')}]${v.getters ? `+getters(${Object.keys(v.getters)})` : ''}`;
    const g = v.getters ? ` getters: ${Object.entries(v.getters).map(([key, later]) => `${key}->${show(later)}`).join(', ')}` : '';
    return `{ ${v.entries.map(([key, e]) => `${key}: ${show(e)}`).join(', ')}${g} }`;
  };
  return `${plan.fn}(${plan.args.map(show).join(', ')})`;
}

function showLit(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return String(v);
  if (v instanceof Map) return 'Map';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${(v as Uint8Array).length}]`;
  if (Array.isArray(v)) return `[${v.map(showLit).join(', ')}]`;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  if (v !== null && typeof v === 'object') return Object.prototype.toString.call(v);
  return String(v);
}
