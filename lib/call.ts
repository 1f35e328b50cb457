/**
 * How the facade runs an operation: each public function validates its
 * arguments into a Call (the op, its descriptor, the value to return), and
 * the same Call runs synchronously or asynchronously. So every operation
 * has an ...Async variant with the same validation-at-call semantics: a bad
 * call throws (sync) or returns a rejected promise (async), before anything
 * is written.
 */
import { active } from './backend';
import type { Descriptors, OpName } from './descriptors';
import { fixedLength } from './validate';

/** The promise-returning variant of a function's signature. */
export type Async<F extends (...a: never[]) => unknown> = (...a: Parameters<F>) => Promise<ReturnType<F>>;

export interface Call<K extends OpName, R> {
  op: K;
  desc: Descriptors[K];
  result: R;
  /** Descriptor fields holding arrays allocated for this call (see OpRunner.runAsync). */
  fresh: string[];
  /** The public names of descriptor fields, where the default (publicName) is wrong. */
  names?: Readonly<Record<string, string>>;
}

/** Descriptor fields that are positional arguments of the public functions; the others are options. */
const POSITIONAL = new Set(['x', 'dy', 'content', 'style', 'condition']);

function publicName(field: string, names?: Readonly<Record<string, string>>): string {
  return names?.[field] ?? (POSITIONAL.has(field) ? field : `options.${field}`);
}

/**
 * The native layer's errors that only it can detect (two buffer objects
 * over the same memory, a buffer taken away during an async call) cite
 * descriptor fields (the `instnormFields` property): said again with the
 * public function and argument names.
 */
function inPublicTerms(e: unknown, fn: string, names?: Readonly<Record<string, string>>): unknown {
  const fields = (e as { instnormFields?: unknown } | null)?.instnormFields;
  if (!(e instanceof Error) || !Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) return e;
  const cited = new RegExp(`\\b(${(fields as string[]).join('|')})\\b`, 'g');
  const message = e.message.replace(/^instnorm: \w+: /, '').replace(cited, (f) => publicName(f, names));
  const Kind = e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error;
  return new Kind(`${fn}: ${message}`);
}

/** Output arrays: the caller's, or new ones recorded as fresh. */
export class Outputs {
  readonly fresh: string[] = [];
  f32(given: Float32Array | null, length: number, field: string): Float32Array {
    if (given) return given;
    this.fresh.push(field);
    return new Float32Array(length);
  }
  f64(length: number, field: string): Float64Array {
    this.fresh.push(field);
    return new Float64Array(length);
  }
  /** An input this module made (a copy), which no user code can reach either. */
  own<T>(value: T, field: string): T {
    this.fresh.push(field);
    return value;
  }
}

/** The synchronous function of a validator: validate, run, return. */
export function syncOf<A extends unknown[], K extends OpName, R>(
  fn: string, prepare: (fn: string, ...args: A) => Call<K, R>,
): (...args: A) => R {
  return (...args: A): R => {
    const c = prepare(fn, ...args);
    try {
      active.ops.run(c.op, c.desc);
    } catch (e) {
      throw inPublicTerms(e, fn, c.names);
    }
    return c.result;
  };
}

/**
 * The asynchronous function of a validator: validated now, run off the
 * JavaScript thread on the native backend (see OpRunner.runAsync for what
 * happens to the caller's buffers meanwhile).
 */
export function asyncOf<A extends unknown[], K extends OpName, R>(
  fn: string, prepare: (fn: string, ...args: A) => Call<K, R>,
): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    const c = prepare(fn, ...args);
    // Resizable ArrayBuffers are refused, as they always were. (Safety does
    // not rest on this check: the native backend copies every non-shared
    // buffer, see async_call.h.)
    const arrays = Object.entries(c.desc).filter(([, v]) => ArrayBuffer.isView(v)) as [string, Float32Array][];
    fixedLength(fn, arrays.map(([, v]) => v), arrays.map(([k]) => publicName(k, c.names)));
    try {
      await active.ops.runAsync(c.op, c.desc, c.fresh);
    } catch (e) {
      throw inPublicTerms(e, fn, c.names);
    }
    return c.result;
  };
}
