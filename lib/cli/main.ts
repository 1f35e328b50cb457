#!/usr/bin/env node
/**
 * `npx instnorm <command>`: what is loaded and why (info), building the addon
 * from source (build), and a quick timing of this machine (bench). Each
 * command loads the library only when it needs it, so `build` works when the
 * library cannot load at all.
 */
/* eslint-disable @typescript-eslint/no-require-imports */

const USAGE = `Usage: npx instnorm <command> [--json]

Commands:
  info            backend, ISA, threads, which binary was loaded and from where,
                  platform, Node and N-API versions, why a fallback happened
  build           build the native addon from source for this machine
                  (cmake-js when installed, else the node-gyp that ships with npm)
  bench [--quick] time instance norm on this machine: native and JS backends

Options:
  --json          machine-readable output on stdout (progress goes to stderr)
  --help          this text`;

function main(argv: string[]): number | Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  const [command, ...rest] = argv.filter((a) => !a.startsWith('-'));
  const known: Record<string, string[]> = { info: ['--json'], build: ['--json'], bench: ['--json', '--quick'] };
  if (flags.has('--help') || flags.has('-h') || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === undefined || !(command in known)) {
    console.error(command === undefined ? 'instnorm: no command given.' : `instnorm: unknown command '${command}'.`);
    console.error(USAGE);
    return 2;
  }
  const bad = [...flags].filter((f) => !known[command].includes(f));
  if (bad.length > 0 || rest.length > 0) {
    console.error(`instnorm ${command}: unexpected ${[...bad, ...rest].join(' ')} (accepts: ${known[command].join(' ')})`);
    return 2;
  }
  const json = flags.has('--json');
  // Loaded on demand: only info and bench load the library itself.
  if (command === 'info') return (require('./info') as typeof import('./info')).runInfo({ json });
  if (command === 'build') return (require('./build') as typeof import('./build')).runBuild({ json });
  return (require('./bench') as typeof import('./bench')).runBench({ json, quick: flags.has('--quick') });
}

Promise.resolve()
  .then(() => main(process.argv.slice(2)))
  .then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
