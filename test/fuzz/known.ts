/**
 * Findings of the fuzz that are reported and not yet fixed in lib/ or
 * native/. A failure matching one is counted (and printed) instead of
 * failing the property, so the rest of the fuzz keeps running; each has a
 * test in findings.test.ts marked `it.fails`, which starts failing (and so
 * asks for its entry here to be removed) once the library is fixed.
 */
import { at, type Plan } from './model';
import type { Mutant } from './mutate';

export interface Failure {
  /** The call that failed (the mutated one for invalid calls). */
  plan: Plan;
  mutant?: Mutant;
  target: string;
  problem: string;
}

export interface Known {
  id: string;
  what: string;
  matches: (f: Failure) => boolean;
}

const lit = (p: Plan, path: string) => {
  const v = at(p, path);
  return v?.k === 'lit' ? v.v : undefined;
};
const aliasOf = (p: Plan, path: string) => {
  const v = at(p, path);
  return v?.k === 'arr' && v.alias?.how === 'same' ? v.alias.of : null;
};

export const KNOWN: Known[] = [
  {
    id: 'H10-F1',
    what: 'the JS backend accepts an output over the memory of another argument through a second SharedArrayBuffer object (and writes into that argument)',
    matches: (f) => f.target === 'js' && f.mutant?.kind === 'overlapClone',
  },
  {
    id: 'H10-F2',
    what: "conditional instance norm's async refusal of a resizable buffer names the descriptor field (gamma, beta) instead of the argument (gammaTable, betaTable)",
    matches: (f) => f.mutant?.kind === 'resizable' && /Table$/.test(f.mutant.names ?? '') && f.problem.includes('does not name'),
  },
  {
    id: 'H10-F3',
    what: "mergeMoments with a DataView for count/mean/m2 throws the engine's TypeError, which names no argument",
    matches: (f) => f.plan.fn === 'mergeMoments' && f.mutant?.what.endsWith('as DataView') === true && f.problem.includes('does not name'),
  },
  {
    id: 'H10-F4',
    what: 'JS backend: layerNormBackward with dx in place over dy and eps = 0 sums dbeta from the overwritten dy in constant rows',
    matches: (f) => !f.mutant && /^layerNormBackward(Async)?$/.test(f.plan.fn) && lit(f.plan, 'options.eps') === 0 &&
      aliasOf(f.plan, 'options.dx') === 'dy' && /(^|; )dbeta: /.test(f.problem),
  },
];

/** The known finding a failure belongs to, or null. */
export function knownFinding(f: Failure): Known | null {
  return KNOWN.find((k) => k.matches(f)) ?? null;
}
