/**
 * The library as users get it (the built package), plus which backend this
 * vitest project asked for. Each project in vitest.config.mts sets
 * INSTNORM_BACKEND / INSTNORM_ISA; when the CPU lacks the requested ISA the
 * suites skip themselves (and say so) rather than silently re-testing a
 * lower one.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const lib = require('../../dist/index.js') as typeof import('../../dist/index');
export const js = require('../../dist/js/instance_norm.js') as typeof import('../../dist/js/instance_norm');

const requestedIsa = process.env.INSTNORM_ISA || null;

const info = lib.backend();

export const label = info.name === 'js' ? 'js' : `native/${info.isa}`;

/** Why this project's suites cannot run here, or null when they can. */
export const unavailable: string | null =
  requestedIsa && (info.name !== 'native' || info.isa !== requestedIsa)
    ? `INSTNORM_ISA=${requestedIsa} requested but this machine runs ${label} (CPU or build lacks ${requestedIsa})`
    : null;

if (unavailable) console.warn(`[instnorm tests] skipping ${label} suites: ${unavailable}`);
