// Bad arguments of moments and mergeMoments: each case names the call,
// the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written).
import { type Case, F, f32, NHWC, NUMEL, SHAPE, x } from './fixtures';

const mom = (opts?: object) => F.moments(x(), SHAPE, opts);
const moments = () => ({ count: new Float64Array(3).fill(4), mean: new Float64Array(3), m2: new Float64Array(3).fill(1) });

export const cases: Case[] = [
  ['x as an Int32Array', 'moments', () => F.moments(new Int32Array(NUMEL), SHAPE), TypeError, /\bx\b/],
  ['x not matching shape', 'moments', () => F.moments(f32(NUMEL - 2), SHAPE), RangeError, /\bx\b/],
  ['over an unknown reduction', 'moments', () => mom({ over: 'channel' }), RangeError, /over/],
  ['over as a number', 'moments', () => mom({ over: 1 }), TypeError, /over/],
  ['over group without groups', 'moments', () => mom({ over: 'group' }), 'either', /groups/],
  ['over group with groups not dividing C', 'moments', () => mom({ over: 'group', groups: 4 }), RangeError, /groups/],
  ['layout misspelt', 'moments', () => mom({ layout: 'NCHW_' }), RangeError, /layout/],
  ['an unknown option', 'moments', () => mom({ axis: 1 }), TypeError, /options\.axis/],
  ['mergeMoments of different lengths', 'mergeMoments',
    () => F.mergeMoments(moments(), { count: new Float64Array(4), mean: new Float64Array(4), m2: new Float64Array(4) }), RangeError, /\ba\b.*\bb\b|\bb\b.*\ba\b/],
  ['mergeMoments with count and mean of different lengths', 'mergeMoments',
    () => F.mergeMoments({ ...moments(), count: new Float64Array(2) }, moments()), RangeError, /count|mean/],
  ['mergeMoments with m2 missing', 'mergeMoments', () => F.mergeMoments({ count: new Float64Array(3), mean: new Float64Array(3) }, moments()), TypeError, /m2/],
  ['mergeMoments with null', 'mergeMoments', () => F.mergeMoments(null, moments()), TypeError, /\ba\b/],
  ['mergeMoments with b as a number', 'mergeMoments', () => F.mergeMoments(moments(), 3), TypeError, /\bb\b/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.moments(x(), SHAPE, { over: 'group', groups: 3 }),
  () => F.moments(x(), NHWC, { over: 'batch', layout: 'NHWC' }),
  () => F.mergeMoments(moments(), moments()),
];
