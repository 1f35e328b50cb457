/**
 * What a build from source needs on this machine, and how to get it: finding
 * programs on PATH and packages from the package or the current project, and
 * the install command for the tools that are missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../native_loader';

/** A module path resolved from the package, else from the current project. */
export function resolveFrom(id: string): string | null {
  for (const base of [packageRoot, process.cwd()]) {
    try {
      return require.resolve(id, { paths: [base] });
    } catch {
      // not there
    }
  }
  return null;
}

/** The first program of these names on PATH, or null. */
export function findTool(...names: string[]): string | null {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      for (const ext of exts) {
        const file = path.join(dir, name + ext);
        try {
          fs.accessSync(file, fs.constants.X_OK);
          if (fs.statSync(file).isFile()) return file;
        } catch {
          // not here
        }
      }
    }
  }
  return null;
}

function cxx(): string | null {
  if (process.env.CXX) return findTool(process.env.CXX) ?? (fs.existsSync(process.env.CXX) ? process.env.CXX : null);
  return process.platform === 'win32' ? findTool('cl') : findTool('c++', 'g++', 'clang++');
}

/** Tools the given build systems need that are not on PATH. */
export function missingTools(builders: ReadonlyArray<'cmake-js' | 'node-gyp'>): string[] {
  const missing = new Set<string>();
  if (!cxx()) missing.add(process.platform === 'win32' ? 'a C++ compiler (Visual Studio Build Tools)' : 'a C++ compiler (g++ or clang++)');
  // The last build system tried decides what else is needed.
  const last = builders[builders.length - 1];
  if (last === 'node-gyp') {
    if (!findTool('python3', 'python')) missing.add('python3');
    if (process.platform !== 'win32' && !findTool('make')) missing.add('make');
  } else if (!findTool('cmake')) {
    missing.add('cmake');
  }
  return [...missing];
}

/** The command that installs a C++ toolchain for node-gyp on this system. */
export function installHint(): string {
  if (process.platform === 'darwin') return '`xcode-select --install` (the Command Line Tools have clang, make and python3).';
  if (process.platform === 'win32') {
    return 'Visual Studio Build Tools with the "Desktop development with C++" workload, and Python 3 (https://github.com/nodejs/node-gyp#on-windows).';
  }
  if (fs.existsSync('/etc/alpine-release')) return '`apk add build-base python3` (Alpine).';
  if (fs.existsSync('/etc/debian_version')) return '`apt-get install g++ make python3` (Debian, Ubuntu).';
  if (fs.existsSync('/etc/redhat-release') || fs.existsSync('/etc/fedora-release')) {
    return '`dnf install gcc-c++ make python3` (Fedora, RHEL).';
  }
  if (fs.existsSync('/etc/arch-release')) return '`pacman -S base-devel python` (Arch).';
  return 'a C++17 compiler (g++ or clang++), make and python3 from your system\'s package manager.';
}
