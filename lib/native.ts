/**
 * The native backend's side of the call descriptors: the addon reports
 * each op's field order once (ops()), and a call passes the descriptor's
 * fields positionally in that order, which is what lets the binding read
 * them without a property lookup per field.
 */
import type { Descriptors, OpName, OpRunner } from './descriptors';

export interface NativeAddon {
  /** Every registered op with its field order; the index is the op's id. */
  ops(): { name: string; fields: string[] }[];
  run(op: number, ...fields: unknown[]): void;
  runAsync(op: number, fresh: number, ...fields: unknown[]): Promise<void>;
  threads(): number;
  setThreads(n: number): void;
  /** ISAs this CPU supports and this build contains, best first. */
  isas(): string[];
  isa(): string;
  setIsa(name: string): boolean;
  /** Applies an INSTNORM_ISA cap (native/kernels/dispatch.h select_table); throws for a bad name. */
  capIsa(cap: string): string;
}

interface OpEntry {
  id: number;
  fields: readonly string[];
  /** (d) => addon.run(id, d[fields[0]], d[fields[1]], ...), compiled once per op. */
  call: (d: object) => void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The positional call of one op, as straight-line code: fixed property
 * loads and a fixed-arity call are what keep the per-call cost of a small
 * tensor at about a microsecond (a generic loop with a spread adds ~0.3 us).
 */
function compileCall(run: NativeAddon['run'], id: number, fields: readonly string[]): (d: object) => void {
  if (!fields.every((f) => IDENTIFIER.test(f))) throw new Error(`instnorm: unexpected field names from the addon: ${fields.join(', ')}`);
  const body = `return function (d) { return run(${id}${fields.map((f) => `, d.${f}`).join('')}); };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('run', body)(run) as (d: object) => void;
}

export function nativeOps(addon: NativeAddon): OpRunner {
  const table = new Map<string, OpEntry>();
  const run = addon.run.bind(addon);
  addon.ops().forEach((o, id) => table.set(o.name, { id, fields: o.fields, call: compileCall(run, id, o.fields) }));
  const entry = (op: string): OpEntry => {
    const e = table.get(op);
    if (!e) throw new Error(`instnorm: the native addon has no op ${op}: it is older than this library; rebuild it (npx instnorm build)`);
    return e;
  };
  const args = (e: OpEntry, d: object): unknown[] => {
    const f = e.fields;
    const a = new Array<unknown>(f.length);
    for (let i = 0; i < f.length; i++) a[i] = (d as Record<string, unknown>)[f[i]];
    return a;
  };
  return {
    run<K extends OpName>(op: K, d: Descriptors[K]): void {
      entry(op).call(d);
    },
    runAsync<K extends OpName>(op: K, d: Descriptors[K], fresh: readonly string[]): Promise<void> {
      const e = entry(op);
      let mask = 0;
      for (const name of fresh) {
        const i = e.fields.indexOf(name);
        if (i >= 0 && i < 32) mask |= 1 << i;
      }
      return addon.runAsync(e.id, mask >>> 0, ...args(e, d));
    },
  };
}
