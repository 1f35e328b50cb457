/**
 * Every exported function and the generator of its valid calls. An
 * `...Async` export uses the generator of its synchronous twin. The
 * coverage test fails when the library exports a function not listed here.
 */
import fc from 'fast-check';
import { adain } from './ops/adain';
import { batchBackward, batchForward } from './ops/batch';
import { conditional, groupBackward, groupForward } from './ops/group';
import { mergeMoments, moments, noArgs, setThreads } from './ops/misc';
import { rowOp } from './ops/rows';
import { describePlan, lit, type Plan } from './model';

export const GENERATORS: Record<string, () => fc.Arbitrary<Plan>> = {
  instanceNorm: () => groupForward('instanceNorm'),
  instanceNormBackward: () => groupBackward('instanceNormBackward'),
  groupNorm: () => groupForward('groupNorm'),
  groupNormBackward: () => groupBackward('groupNormBackward'),
  conditionalInstanceNorm: () => conditional('conditionalInstanceNorm'),
  conditionalInstanceNormBackward: () => conditional('conditionalInstanceNormBackward'),
  batchNorm: batchForward,
  batchNormBackward: batchBackward,
  layerNorm: () => rowOp('layerNorm'),
  layerNormBackward: () => rowOp('layerNormBackward'),
  rmsNorm: () => rowOp('rmsNorm'),
  rmsNormBackward: () => rowOp('rmsNormBackward'),
  adaIN: () => adain('adaIN'),
  adaINBackward: () => adain('adaINBackward'),
  moments,
  mergeMoments,
  setThreads,
  getThreads: () => noArgs('getThreads'),
  backend: () => noArgs('backend'),
};

/** The generator's name for an export (`xAsync` -> `x`), or null when none covers it. */
export function generatorOf(exportName: string): string | null {
  if (exportName in GENERATORS) return exportName;
  const base = exportName.endsWith('Async') ? exportName.slice(0, -'Async'.length) : null;
  return base && base in GENERATORS ? base : null;
}

/** Valid calls of `exportName` (async exports: the sync twin's calls, renamed). */
export function validCalls(exportName: string): fc.Arbitrary<Plan> {
  const g = generatorOf(exportName);
  if (!g) throw new Error(`no fuzz generator covers the export ${exportName}`);
  return fc
    .tuple(GENERATORS[g](), fc.boolean())
    .map(([p, lie]) => printable(lying({ ...p, fn: exportName, variants: p.variants.map((v) => ({ ...v, fn: exportName })) }, lie)));
}

/**
 * With `lie`, the first option is behind a getter whose later reads return
 * garbage: valid all the same, since the library reads each option once.
 */
function lying(p: Plan, lie: boolean): Plan {
  const i = p.names.indexOf('options');
  const o = p.args[i];
  if (!lie || i < 0 || o?.k !== 'obj' || o.entries.length === 0) return p;
  const args = [...p.args];
  args[i] = { ...o, getters: { [o.entries[0][0]]: lit('not an option value') } };
  return { ...p, args };
}

/** fast-check prints a counterexample through this (the call, not the whole plan). */
export function printable(p: Plan): Plan {
  Object.defineProperty(p, fc.toStringMethod, { value: () => describePlan(p), enumerable: false });
  return p;
}
