/**
 * `npx instnorm build`: builds the native addon from source inside the
 * installed package, for platforms without a prebuilt binary (or whose
 * prebuilt binary cannot load). cmake-js when it is installed (build-cmake/),
 * else the node-gyp that ships with npm (build/). The build's own output is
 * shown as it runs; on failure the compiler's error lines are repeated at the
 * end with what to install, and on success the result is loaded to prove it.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILD_COMMAND, packageRoot } from '../native_loader';
import { findTool, installHint, missingTools, resolveFrom } from './toolchain';

interface Tool {
  name: 'cmake-js' | 'node-gyp';
  script: string;
  args: string[];
  output: string;
}

function nodeGypScript(): string | null {
  const npmDir = process.env.npm_execpath ? path.resolve(path.dirname(process.env.npm_execpath), '..') : null;
  const execDir = path.dirname(process.execPath);
  const candidates = [
    process.env.npm_config_node_gyp, // set by npm and npx
    npmDir && path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(execDir, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(execDir, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), // Windows
    resolveFrom('node-gyp/bin/node-gyp.js'),
  ];
  return candidates.find((p): p is string => !!p && fs.existsSync(p)) ?? null;
}

// Node's headers for node-gyp without a download: npm's nodedir, else the
// headers installed beside this node binary (node-gyp downloads otherwise).
function nodedir(): string | null {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function tools(): { found: Tool[]; notes: string[] } {
  const found: Tool[] = [];
  const notes: string[] = [];
  const cmakeJs = resolveFrom('cmake-js/bin/cmake-js');
  if (cmakeJs && findTool('cmake')) {
    // cmake-js uses the Node-API headers it ships (package.json "binary").
    found.push({ name: 'cmake-js', script: cmakeJs, args: ['rebuild', '-O', 'build-cmake'], output: 'build-cmake/Release/instnorm.node' });
  } else if (cmakeJs) {
    notes.push('cmake-js is installed but cmake is not on PATH: using node-gyp');
  }
  const gyp = nodeGypScript();
  if (gyp) {
    const dir = nodedir();
    found.push({
      name: 'node-gyp',
      script: gyp,
      args: ['rebuild', '-j', 'max', ...(dir ? [`--nodedir=${dir}`] : [])],
      output: 'build/Release/instnorm.node',
    });
  }
  return { found, notes };
}

/** Runs a build, its output shown live (on stderr with --json), and keeps it for the summary. */
function runTool(tool: Tool, json: boolean): Promise<{ code: number; output: string }> {
  const say = json ? process.stderr : process.stdout;
  say.write(`instnorm build: ${tool.name} ${tool.args.join(' ')} (in ${packageRoot})\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tool.script, ...tool.args], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => { chunks.push(d); say.write(d); });
    child.stderr.on('data', (d: Buffer) => { chunks.push(d); process.stderr.write(d); });
    child.on('error', (e) => resolve({ code: 1, output: String(e) }));
    child.on('close', (code) => resolve({ code: code ?? 1, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

/** The lines of a build log that carry the real error: the compiler's or linker's, else the build tool's. */
export function errorLines(log: string): string[] {
  const lines = log.split(/\r?\n/).map((l) => l.trimEnd()).filter(Boolean);
  const tiers = [
    /:\s*(fatal )?error:|\berror C\d{4}\b|undefined reference to|cannot find -l/, // compiler, linker
    /gyp ERR! stack Error|CMake Error/, // the build tool's own summary
    /not found|gyp ERR! find/,
  ];
  for (const tier of tiers) {
    const hits = lines.filter((l) => tier.test(l));
    if (hits.length > 0) return hits.slice(0, 12);
  }
  return lines.slice(-15);
}

/** Loads the library in a fresh process and reports what it chose. */
function loadedAfterBuild(): { name: string; isa: string | null; source: string | null; file: string | null } | null {
  const env = { ...process.env };
  delete env.INSTNORM_BACKEND;
  delete env.INSTNORM_REQUIRE_NATIVE;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'main.js'), 'info', '--json'], { env, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const info = JSON.parse(r.stdout) as { backend: { name: string; isa: string | null }; binary: { source: string; file: string } | null };
  return { name: info.backend.name, isa: info.backend.isa, source: info.binary?.source ?? null, file: info.binary?.file ?? null };
}

export async function runBuild(opts: { json: boolean }): Promise<number> {
  const { found, notes } = tools();
  const say = (s: string) => (opts.json ? console.error(s) : console.log(s));
  for (const n of notes) say(`instnorm build: ${n}`);
  if (found.length === 0) {
    const msg =
      'instnorm build: found neither cmake-js nor the node-gyp that ships with npm. ' +
      'Install cmake-js (`npm install --save-dev cmake-js`, needs cmake), or run this with npm >= 7 (`npx`), which bundles node-gyp.';
    console.error(msg);
    if (opts.json) console.log(JSON.stringify({ ok: false, error: msg }));
    return 1;
  }
  const failures: Array<{ tool: string; code: number; errors: string[] }> = [];
  for (const tool of found) {
    const { code, output } = await runTool(tool, opts.json);
    const file = path.join(packageRoot, tool.output);
    if (code === 0 && fs.existsSync(file)) {
      const loaded = loadedAfterBuild();
      say(`instnorm build: built ${file} with ${tool.name}.`);
      if (loaded) {
        say(`instnorm now loads: ${loaded.name}${loaded.isa ? ` (${loaded.isa})` : ''}${loaded.file ? ` from ${loaded.source}: ${loaded.file}` : ''}`);
        if (loaded.source === 'prebuilt') {
          say('(the prebuilt binary for this platform loads first; the build you just made is used when it cannot load)');
        }
      }
      if (opts.json) console.log(JSON.stringify({ ok: true, tool: tool.name, file, loaded }));
      return loaded && loaded.name === 'native' ? 0 : 1;
    }
    failures.push({ tool: tool.name, code, errors: errorLines(output) });
    if (tool !== found[found.length - 1]) say(`instnorm build: ${tool.name} failed (exit code ${code}); trying ${found[found.length - 1].name}`);
  }
  const missing = missingTools(found.map((t) => t.name));
  const report = [
    `instnorm build: the build failed (${failures.map((f) => `${f.tool}: exit code ${f.code}`).join('; ')}).`,
    ...failures.flatMap((f) => [`${f.tool} reported:`, ...f.errors.map((l) => `  ${l}`)]),
    missing.length > 0
      ? `Missing from PATH: ${missing.join(', ')}. Install: ${installHint()}`
      : 'Nothing the build needs is missing from PATH, so the error above is the cause. ' +
        'The addon needs a C++17 compiler (g++ >= 7, clang >= 5, or Visual Studio 2017 or later).',
    `Then run \`${BUILD_COMMAND}\` again. Until then instnorm runs on its pure-JS backend.`,
  ];
  console.error(report.join('\n'));
  if (opts.json) console.log(JSON.stringify({ ok: false, failures, missing, install: installHint() }));
  return 1;
}
