// Makes the tarball every package test installs: `npm pack` runs prepack
// (`npm run prebuild`: both prebuilds built from this source, never taken
// from anywhere else), prepare (tsc) and postpack (removes prebuilds/ from
// the checkout again). INSTNORM_TEST_TARBALL=<file> reuses a tarball made
// that way, to iterate on the tests.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    tarball: string;
  }
}

const root = path.resolve(__dirname, '..', '..');

export default function setup(project: TestProject): void {
  fs.rmSync(path.join(root, 'test-results', 'package-report.json'), { force: true });
  const reuse = process.env.INSTNORM_TEST_TARBALL;
  if (reuse) {
    project.provide('tarball', path.resolve(reuse));
    return;
  }
  const dest = path.join(root, '.tmp', 'pack');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const started = Date.now();
  // The build output goes to the terminal (stderr), so a failure shows why.
  execFileSync('npm', ['pack', '--pack-destination', dest], { cwd: root, stdio: ['ignore', 2, 'inherit'] });
  const [file] = fs.readdirSync(dest).filter((f) => f.endsWith('.tgz'));
  if (!file) throw new Error(`npm pack wrote no tarball into ${dest}`);
  const tarball = path.join(dest, file);
  console.log(`pack.setup: ${path.relative(root, tarball)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  project.provide('tarball', tarball);
}
