// Builds build-tests/op_profile (bench/native/op_profile.cc: one op of the
// op layer timed from C++, the kernel tables compiled per ISA as the addon
// builds them, from native/build-config.js). Used by bench:profile and
// bench:isa.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const config = require('../../native/build-config.js');
const DRIVER = 'bench/native/op_profile.cc';
export const OP_PROFILE = path.join(root, 'build-tests', 'op_profile');

/** Builds build-tests/op_profile unless it is newer than every source it is built from. */
export function buildOpProfile() {
  const isas = config.isasFor(process.arch);
  const sources = config.baselineSources().filter((s) => !s.startsWith('native/binding/'));
  const inputs = [DRIVER, ...sources, config.KERNEL_TABLE_SOURCE];
  const headers = (dir) => fs.readdirSync(path.join(root, dir), { recursive: true }).filter((f) => /\.(h|def)$/.test(f)).map((f) => path.join(dir, f));
  const newest = Math.max(...[...inputs, ...headers('native/kernels'), ...headers('native/ops'), ...headers('native/runtime')]
    .map((f) => fs.statSync(path.join(root, f)).mtimeMs));
  if (fs.existsSync(OP_PROFILE) && fs.statSync(OP_PROFILE).mtimeMs > newest) return;
  console.error('building build-tests/op_profile');
  const common = config.commonFlags('gcc');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'op-profile-'));
  const objs = isas.map((isa) => {
    const o = path.join(tmp, `${isa.name}.o`);
    execFileSync('g++', [...common, '-g', ...isa.flags.gcc, `-DINSTNORM_TARGET_ISA=${isa.name}`, '-c', config.KERNEL_TABLE_SOURCE, '-o', o], { cwd: root, stdio: 'inherit' });
    return o;
  });
  fs.mkdirSync(path.dirname(OP_PROFILE), { recursive: true });
  execFileSync('g++', [...common, '-g', DRIVER, ...sources, ...objs, '-pthread', '-o', OP_PROFILE], { cwd: root, stdio: 'inherit' });
  fs.rmSync(tmp, { recursive: true });
}
