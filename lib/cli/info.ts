/**
 * `npx instnorm info`: what the library loads here and why. It loads the
 * library as any program would, except that the fallback warning is not
 * printed: the report says the same, with each cause on its own line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setEnvironmentData } from 'node:worker_threads';
import { BUILD_COMMAND, FALLBACK_WARNED, libcFamily, packageRoot, platformName } from '../native_loader';

export interface Info {
  version: string;
  backend: { name: 'native' | 'js'; isa: string | null; threads: number; reason?: string };
  /** ISAs the loaded addon can run on this CPU, best first. */
  isas: string[];
  binary: { file: string; source: string } | null;
  /** Why each place the addon was looked for did not load (fallback only). */
  attempts: Array<{ where: string; why: string }>;
  platform: { os: string; arch: string; libc: string | null; glibc: string | null; name: string };
  node: string;
  napi: { node: string | null; addon: number | null };
  fix: string | null;
}

function packageJson(): { version: string; binary?: { napi_versions?: number[] } } {
  return JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));
}

export function collectInfo(): Info {
  setEnvironmentData(FALLBACK_WARNED, true);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { active } = require('../backend') as typeof import('../backend');
  const pkg = packageJson();
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return {
    version: pkg.version,
    backend: { ...active.info },
    isas: active.native ? active.native.isas() : [],
    binary: active.binary ? { file: active.binary.file, source: active.binary.source } : null,
    attempts: active.attempts ?? [],
    platform: {
      os: process.platform,
      arch: process.arch,
      libc: libcFamily(),
      glibc: report?.header?.glibcVersionRuntime ?? null,
      name: platformName(),
    },
    node: process.versions.node,
    napi: { node: process.versions.napi ?? null, addon: pkg.binary?.napi_versions?.[0] ?? null },
    fix: active.attempts ? BUILD_COMMAND : null,
  };
}

export function runInfo(opts: { json: boolean }): number {
  const info = collectInfo();
  if (opts.json) {
    console.log(JSON.stringify(info, null, 2));
    return 0;
  }
  const b = info.backend;
  const rows: Array<[string, string]> = [
    ['instnorm', info.version],
    ['backend', b.name === 'native' ? `native, ${b.isa}, ${b.threads} thread${b.threads === 1 ? '' : 's'}` : 'js (pure TypeScript)'],
  ];
  if (info.binary) {
    rows.push(['binary', `${info.binary.source}: ${path.relative(process.cwd(), info.binary.file) || info.binary.file}`]);
    rows.push(['ISAs here', info.isas.join(', ')]);
  } else if (info.attempts.length === 0) {
    rows.push(['why', b.reason ?? 'unknown']);
  } else {
    info.attempts.forEach((a, i) => rows.push([i === 0 ? 'why' : '', `${a.where}: ${a.why}`]));
    if (info.fix) rows.push(['fix', info.fix]);
  }
  const p = info.platform;
  rows.push(['platform', `${p.os}-${p.arch}${p.libc ? ` (${p.libc}${p.glibc ? ` ${p.glibc}` : ''})` : ''}`]);
  rows.push(['node', `${info.node}, N-API ${info.napi.node ?? '?'} (the addon needs N-API ${info.napi.addon ?? '?'})`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  return 0;
}
