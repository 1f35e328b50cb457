// fast-check fuzz of every exported function, sync and async, on the JS
// backend and on every ISA of the native one (one process: internal
// useBackend / setIsa). Valid calls must agree with the JS backend within
// the op's tolerance, write every element of every output and nothing
// else, and read each option once; invalid calls must throw (or reject
// with) a TypeError or RangeError naming the argument, and leave every
// byte of every buffer as it was.
//
// Reproducible: INSTNORM_FUZZ_SEED (default below), INSTNORM_FUZZ_VALID and
// INSTNORM_FUZZ_INVALID (cases per property). A failure prints the seed
// and path fast-check needs to replay it, and the call.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { F, internal, lib } from '../helpers/backend-under-test';
import { describePlan, firstChangedByte, writesOutsideOutputs } from './model';
import { knownFinding } from './known';
import { type Mutant, MUTATION_KINDS, mutate } from './mutate';
import { GENERATORS, generatorOf, validCalls } from './registry';
import { compareRuns, errorText, isArgumentError, type Outcome, runPlan, type Target, use } from './run';

const SEED = Number(process.env.INSTNORM_FUZZ_SEED ?? 20261127);
const VALID = Number(process.env.INSTNORM_FUZZ_VALID ?? 800);
const INVALID = Number(process.env.INSTNORM_FUZZ_INVALID ?? 2000);

const EXPORTS = Object.keys(lib).filter((k) => typeof F[k] === 'function').sort();
/** Functions without arguments cannot be called wrongly (extra arguments are ignored, as everywhere in JS). */
const NO_ARGS = new Set(['getThreads', 'backend']);
const TARGETS: Target[] = ['js', ...internal.nativeIsas().map((isa) => `native/${isa}` as Target)];

const counts: Record<string, { valid: number; invalid: number }> = Object.fromEntries(TARGETS.map((t) => [t, { valid: 0, invalid: 0 }]));
const kinds: Record<string, number> = {};
const perExport: Record<string, number> = {};
const findings: Record<string, number> = {};

afterAll(() => {
  const summary = { seed: SEED, targets: counts, mutations: kinds, exports: perExport, knownFindings: findings };
  console.log(`[fuzz] seed ${SEED}: ${TARGETS.map((t) => `${t} ${counts[t].valid} valid + ${counts[t].invalid} invalid`).join(', ')}`);
  console.log(`[fuzz] invalid calls by mutation: ${JSON.stringify(kinds)}`);
  console.log(`[fuzz] known findings hit (see known.ts): ${JSON.stringify(findings)}`);
  fs.mkdirSync('test-results', { recursive: true });
  fs.writeFileSync(path.join('test-results', `fuzz-${process.env.INSTNORM_BACKEND ?? 'all'}.json`), JSON.stringify(summary, null, 2));
  internal.useBackend('native');
});

const arbs = new Map(EXPORTS.filter((e) => generatorOf(e)).map((e) => [e, validCalls(e)] as const));

describe('fuzz', () => {
  it('covers every exported function', () => {
    const uncovered = EXPORTS.filter((e) => !generatorOf(e));
    expect(uncovered, 'exports without a fuzz generator (add one to test/fuzz/registry.ts)').toEqual([]);
    const stale = Object.keys(GENERATORS).filter((g) => !EXPORTS.includes(g));
    expect(stale, 'generators of functions the library no longer exports').toEqual([]);
  });

  it(`valid calls agree with the JS backend on ${TARGETS.join(', ')}`, async () => {
    const calls = fc.constantFrom(...EXPORTS).chain((e) => arbs.get(e)!);
    await fc.assert(
      fc.asyncProperty(calls, async (plan) => {
        perExport[plan.fn] = (perExport[plan.fn] ?? 0) + 1;
        use('js');
        const js = await runPlan(plan, 1);
        if (!js.ok) throw new Error(`js refused a valid call ${describePlan(plan)}: ${errorText(js.error)}`);
        checkClean('js', plan, js.live);
        counts.js.valid++;
        for (const [i, t] of TARGETS.slice(1).entries()) {
          use(t);
          const nat = await runPlan(plan, 2 + i);
          if (!nat.ok) throw new Error(`${t} refused a valid call ${describePlan(plan)}: ${errorText(nat.error)}`);
          checkClean(t, plan, nat.live);
          const diff = compareRuns(plan, nat, js);
          counts[t].valid++;
          if (!diff) continue;
          const known = knownFinding({ plan, target: t, problem: diff });
          if (!known) throw new Error(`${t} differs from js on ${describePlan(plan)}: ${diff}`);
          findings[known.id] = (findings[known.id] ?? 0) + 1;
        }
      }),
      { seed: SEED, numRuns: VALID, verbose: 1 },
    );
  });

  it(`invalid calls throw TypeError/RangeError and write nothing on ${TARGETS.join(', ')}`, async () => {
    const fallible = EXPORTS.filter((e) => !NO_ARGS.has(e));
    const calls = fc.tuple(fc.constantFrom(...fallible).chain((e) => arbs.get(e)!), fc.nat(MUTATION_KINDS.length - 1), fc.nat(), fc.nat());
    await fc.assert(
      fc.asyncProperty(calls, async ([valid, pick, seed, which]) => {
        const m = mutate(valid, pick, seed);
        kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
        // The JS backend once; the native one on one of its ISAs (validation does not depend on the ISA).
        const native = TARGETS.slice(1);
        const runOn: Target[] = ['js', ...(native.length ? [native[which % native.length]] : [])];
        const classes: string[] = [];
        for (const t of runOn) {
          use(t);
          const o = await runPlan(m.plan, 1);
          const problem = refusalProblem(m, o);
          if (problem) {
            const known = knownFinding({ plan: m.plan, mutant: m, target: t, problem });
            if (!known) throw new Error(`${t}: ${problem} for ${describePlan(m.plan)} [${m.kind}: ${m.what}]`);
            findings[known.id] = (findings[known.id] ?? 0) + 1;
            continue;
          }
          classes.push((o as { error: Error }).error.constructor.name);
          counts[t].invalid++;
        }
        if (new Set(classes).size > 1) throw new Error(`backends disagree on the error class (${classes.join(' vs ')}) for ${describePlan(m.plan)}`);
      }),
      { seed: SEED + 1, numRuns: INVALID, verbose: 1 },
    );
  });
});

/** What is wrong with how a backend refused (or accepted) an invalid call, or null. */
function refusalProblem(m: Mutant, o: Outcome): string | null {
  if (o.ok) return 'accepted an invalid call';
  if (!isArgumentError(o.error)) return `threw ${errorText(o.error)}`;
  if (o.threwSync && m.plan.fn.endsWith('Async')) return 'threw synchronously instead of rejecting';
  const changed = firstChangedByte(o.live);
  if (changed) return `wrote before refusing (${changed})`;
  const msg = (o.error as Error).message;
  if (m.names && !new RegExp(`\\b${m.names.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&')}\\b`).test(msg)) {
    return `the message does not name ${m.names}: "${msg}"`;
  }
  return null;
}

function checkClean(t: Target, plan: Parameters<typeof describePlan>[0], live: Parameters<typeof writesOutsideOutputs>[0]) {
  const w = writesOutsideOutputs(live);
  if (w) throw new Error(`${t} wrote outside its outputs on ${describePlan(plan)}: ${w}`);
  for (const [p, n] of live.reads) if (n !== 1) throw new Error(`${t} read ${p} ${n} times (once expected) on ${describePlan(plan)}`);
}
