/**
 * Findings of the fuzz that are reported and not yet fixed in lib/ or
 * native/. A failure matching one is counted (and printed) instead of
 * failing the property, so the rest of the fuzz keeps running; each has a
 * test in findings.test.ts marked `it.fails`, which starts failing (and so
 * asks for its entry here to be removed) once the library is fixed.
 */
import type { Mutant } from './mutate';

export interface Known {
  id: string;
  what: string;
  /** Does this failure (mutation, backend, problem text) belong to the finding? */
  matches: (m: Mutant, target: string, problem: string) => boolean;
}

export const KNOWN: Known[] = [
  {
    id: 'H10-F1',
    what: 'the JS backend accepts an output over the memory of another argument through a second SharedArrayBuffer object (and writes into that argument)',
    matches: (m, target) => target === 'js' && m.kind === 'overlapClone',
  },
  {
    id: 'H10-F2',
    what: "conditional instance norm's async refusal of a resizable buffer names the descriptor field (gamma, beta) instead of the argument (gammaTable, betaTable)",
    matches: (m, _t, problem) => m.kind === 'resizable' && /Table$/.test(m.names ?? '') && problem.includes('does not name'),
  },
];

/** The known finding a failure belongs to, or null. */
export function knownFinding(m: Mutant, target: string, problem: string): Known | null {
  return KNOWN.find((k) => k.matches(m, target, problem)) ?? null;
}
