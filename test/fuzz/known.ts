/**
 * What the fuzz expects but a backend cannot do, documented (README,
 * Guarantees): a failure matching one is counted (and printed) instead of
 * failing the property. Each has its test in findings.test.ts asserting
 * what the backend does instead. (The fuzz's other findings, H10-F2 to
 * H10-F7, were fixed; their tests in findings.test.ts keep them fixed.)
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
    what: 'the JS backend cannot see that two SharedArrayBuffer objects share memory: it computes such a call from copies (results as for separate arrays) where the native backend refuses it',
    matches: (f) => f.target === 'js' && f.mutant?.kind === 'overlapClone',
  },
];

/** The known finding a failure belongs to, or null. */
export function knownFinding(f: Failure): Known | null {
  return KNOWN.find((k) => k.matches(f)) ?? null;
}
