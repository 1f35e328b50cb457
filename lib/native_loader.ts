/**
 * Finds and loads the native addon, in this order:
 *
 * 1. the prebuilt binary shipped in the package for this platform,
 *    `prebuilds/<platform>-<arch>/instnorm.napi[.glibc|.musl].node`;
 * 2. a local build from source: `build-cmake/` (cmake-js), then `build/`
 *    (node-gyp), Release before Debug (`npx instnorm build` makes one);
 *
 * and, when none loads, says for each place why, so the fallback message
 * can give the real cause.
 *
 * The prebuilt binary comes first because it is the one CI built from this
 * release's source and tested, with a known glibc floor. node-gyp-build,
 * whose matching rules (platform-arch folder, N-API, libc and armv tags) the
 * prebuilds follow, looks in build/ first when asked to resolve a package, so
 * only its matching functions are used here, on prebuilds/ alone; the local
 * builds are fixed paths of this project's two build systems.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeAddon } from './native';

/** Where the loaded binary came from. */
export type BinarySource = 'prebuilt' | 'cmake-js build' | 'node-gyp build';

export interface LoadedBinary {
  addon: NativeAddon;
  file: string;
  source: BinarySource;
}

/** One place that was tried, and why nothing loaded from it. */
export interface LoadAttempt {
  where: string;
  why: string;
}

export type LoadOutcome = { ok: true; binary: LoadedBinary } | { ok: false; attempts: LoadAttempt[] };

/** The fix a user is told about when no binary loads. */
export const BUILD_COMMAND = 'npx instnorm build';

/**
 * worker_threads environment data set once the fallback warning was given
 * (workers started later inherit it, so the warning is given once per process).
 */
export const FALLBACK_WARNED = 'instnorm:js-fallback-warned';

/** The package root (dist/ is one level down). */
export const packageRoot = path.resolve(__dirname, '..');

/** The local builds, in the order they are tried, relative to the package root. */
export const LOCAL_BUILDS: ReadonlyArray<{ file: string; source: BinarySource }> = [
  { file: 'build-cmake/Release/instnorm.node', source: 'cmake-js build' },
  { file: 'build/Release/instnorm.node', source: 'node-gyp build' },
  { file: 'build-cmake/Debug/instnorm.node', source: 'cmake-js build' },
  { file: 'build/Debug/instnorm.node', source: 'node-gyp build' },
];

// The subset of node-gyp-build (v4) used here: its prebuild matching.
interface Tuple { name: string; platform: string; architectures: string[] }
interface Tags { file: string }
interface NodeGypBuild {
  parseTuple(name: string): Tuple | undefined;
  matchTuple(platform: string, arch: string): (t: Tuple | undefined) => boolean;
  compareTuples(a: Tuple, b: Tuple): number;
  parseTags(file: string): Tags | undefined;
  matchTags(runtime: string, abi: string): (t: Tags | undefined) => boolean;
  compareTags(runtime: string): (a: Tags, b: Tags) => number;
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** glibc or musl on Linux (as Node itself reports it), else null. */
export function libcFamily(): 'glibc' | 'musl' | null {
  if (process.platform !== 'linux' || typeof process.report?.getReport !== 'function') return null;
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  if (!header) return null;
  return header.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** This platform as the prebuilds name it, e.g. `linux-x64 (glibc)`. */
export function platformName(): string {
  const libc = libcFamily();
  return `${process.platform}-${process.arch}${libc ? ` (${libc})` : ''}`;
}

/** The prebuilt binary for this platform, or why there is none. */
export function findPrebuilt(root: string): { file: string } | { why: string } {
  let ngb: NodeGypBuild;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ngb = require('node-gyp-build') as NodeGypBuild;
  } catch (e) {
    return { why: `cannot match prebuilt binaries: node-gyp-build (a dependency of instnorm) did not load: ${firstLine(e)}` };
  }
  const dir = path.join(root, 'prebuilds');
  const folders = readdir(dir).map((n) => ngb.parseTuple(n)).filter((t): t is Tuple => t !== undefined);
  const tuple = folders.filter(ngb.matchTuple(process.platform, process.arch)).sort(ngb.compareTuples)[0];
  if (folders.length === 0) return { why: 'this copy of the package has no prebuilt binaries' };
  if (!tuple) {
    return { why: `the package has no prebuilt binary for ${platformName()} (it has ${folders.map((t) => t.name).join(', ')})` };
  }
  const files = readdir(path.join(dir, tuple.name)).map((f) => ngb.parseTags(f));
  const runtime = 'node';
  const matching = files.filter(ngb.matchTags(runtime, process.versions.modules)) as Tags[];
  const best = matching.sort(ngb.compareTags(runtime))[0];
  if (!best) {
    const names = files.filter((t): t is Tags => t !== undefined).map((t) => t.file).join(', ') || 'none';
    return { why: `no binary in prebuilds/${tuple.name} matches ${platformName()} (files: ${names})` };
  }
  return { file: path.join(dir, tuple.name, best.file) };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

function tryLoad(file: string): { addon: NativeAddon } | { why: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(file) as NativeAddon };
  } catch (e) {
    return { why: `failed to load: ${firstLine(e)}` };
  }
}

/** Loads the first binary that works, or lists why each place failed. */
export function loadNative(root: string = packageRoot): LoadOutcome {
  const attempts: LoadAttempt[] = [];
  const prebuilt = findPrebuilt(root);
  if ('file' in prebuilt) {
    const r = tryLoad(prebuilt.file);
    if ('addon' in r) return { ok: true, binary: { addon: r.addon, file: prebuilt.file, source: 'prebuilt' } };
    attempts.push({ where: path.relative(root, prebuilt.file), why: r.why });
  } else {
    attempts.push({ where: 'prebuilds/', why: prebuilt.why });
  }
  const built = LOCAL_BUILDS.filter((b) => fs.existsSync(path.join(root, b.file)));
  for (const b of built) {
    const file = path.join(root, b.file);
    const r = tryLoad(file);
    if ('addon' in r) return { ok: true, binary: { addon: r.addon, file, source: b.source } };
    attempts.push({ where: b.file, why: r.why });
  }
  if (built.length === 0) attempts.push({ where: 'build-cmake/, build/', why: 'no local build from source' });
  return { ok: false, attempts };
}
