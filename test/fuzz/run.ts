/**
 * Running a plan on one backend, and comparing two successful runs: every
 * array the call returned or wrote is compared (by result key, or by path
 * for outputs that are not returned), each with its op's tolerance.
 */
import { F, internal, lib } from '../helpers/backend-under-test';
import { type Check, type Live, materialize, type Plan } from './model';

export type Target = 'js' | `native/${string}`;

/** Runs every following call on `target` (the JS backend, or the native one capped at an ISA). */
export function use(target: Target): void {
  if (target === 'js') {
    internal.useBackend('js');
    return;
  }
  if (!internal.useBackend('native')) throw new Error('native backend not loaded');
  const isa = target.slice('native/'.length) as Parameters<typeof internal.setIsa>[0];
  if (!internal.setIsa(isa)) throw new Error(`ISA ${isa} not available`);
}

export type Outcome =
  | { ok: true; result: unknown; live: Live }
  | { ok: false; error: unknown; live: Live; threwSync: boolean };

const initialThreads = lib.getThreads();

export async function runPlan(plan: Plan, salt: number): Promise<Outcome> {
  const fn = F[plan.fn];
  if (typeof fn !== 'function') throw new Error(`lib.${plan.fn} is not exported`);
  const live = materialize(plan, salt);
  let pending: unknown;
  try {
    pending = fn(...live.args);
  } catch (error) {
    return { ok: false, error, live, threwSync: true };
  } finally {
    if (plan.fn === 'setThreads') lib.setThreads(initialThreads);
  }
  if (!plan.fn.endsWith('Async')) return { ok: true, result: pending, live };
  if (!(pending instanceof Promise)) {
    return { ok: false, error: new Error(`${plan.fn} returned ${typeof pending}, not a promise`), live, threwSync: true };
  }
  try {
    return { ok: true, result: await pending, live };
  } catch (error) {
    return { ok: false, error, live, threwSync: false };
  }
}

type Arrays = Record<string, ArrayLike<number>>;

/** The arrays a run produced: returned ones by key (`y` for a returned array), written ones by path. */
export function produced(o: Extract<Outcome, { ok: true }>): Arrays {
  const out: Arrays = {};
  const r = o.result;
  const returned: unknown[] = [];
  if (ArrayBuffer.isView(r)) {
    out.y = r as unknown as ArrayLike<number>;
    returned.push(r);
  } else if (r && typeof r === 'object') {
    for (const [k, v] of Object.entries(r)) {
      if (ArrayBuffer.isView(v)) {
        out[k] = v as unknown as ArrayLike<number>;
        returned.push(v);
      }
    }
  }
  for (const a of o.live.arrays) {
    if (a.role !== 'in' && a.own && !returned.includes(a.view)) out[a.path] = a.view;
  }
  return out;
}

/** Null when `got` matches `want` under `check`, else what differs. */
export function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, check: Check): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) return `[${i}] = ${a} vs ${b}`;
      continue;
    }
    maxRef = Math.max(maxRef, Math.abs(b));
  }
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) continue;
    let e: number;
    if (check.kind === 'exact') e = Object.is(got[i], want[i]) ? 0 : Infinity;
    else if (check.kind === 'rel') e = want[i] === got[i] ? 0 : Math.abs(got[i] / want[i] - 1);
    else e = Math.abs(got[i] - want[i]);
    if (e > worst) {
      worst = e;
      at = i;
    }
  }
  const denom = check.kind === 'fwd' ? 1 + maxRef : check.kind === 'scaled' ? Math.max(1e-30, maxRef, check.scale) : 1;
  const err = worst / denom;
  const tol = check.kind === 'exact' ? 0 : check.tol;
  return err <= tol ? null : `error ${err.toExponential(2)} > ${tol} (${check.kind}) at [${at}]: ${got[at]} vs ${want[at]}`;
}

/** Null when the native run matches the JS run, else every difference. */
export function compareRuns(plan: Plan, nat: Extract<Outcome, { ok: true }>, js: Extract<Outcome, { ok: true }>): string | null {
  const a = produced(nat);
  const b = produced(js);
  const problems: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (!(k in a) || !(k in b)) problems.push(`${k}: produced by only one backend`);
    else if (!plan.checks[k]) problems.push(`${k}: no check declared for this output (test bug)`);
    else {
      const m = mismatch(a[k], b[k], plan.checks[k]);
      if (m) problems.push(`${k}: ${m}`);
    }
  }
  return problems.length ? problems.join('; ') : null;
}

/** An error the project's standard allows for a refused call. */
export const isArgumentError = (e: unknown) => e instanceof TypeError || e instanceof RangeError;

export const errorText = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-error thrown: ${String(e)}`);
