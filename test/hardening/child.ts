/**
 * Runs a script of ./children in its own Node process (with --expose-gc), on
 * the backend of this vitest project (INSTNORM_BACKEND / INSTNORM_ISA pass
 * through the environment), so that a crash is observed as an exit signal,
 * not suffered by the test runner. The script prints one JSON line,
 * prefixed with RESULT, which is returned with the exit code and signal.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface ChildRun<T> {
  status: number | null;
  signal: NodeJS.Signals | null;
  result: T | null;
  stderr: string;
}

export function runChild<T>(script: string, args: string[] = [], timeoutMs = 120_000): ChildRun<T> {
  const file = path.join(__dirname, 'children', script);
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...args], {
    env: process.env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { status: r.status, signal: r.signal, result: line ? (JSON.parse(line.slice(7)) as T) : null, stderr: r.stderr };
}

/** What a test says when a child died: its exit and the end of its stderr. */
export const died = (r: ChildRun<unknown>) => `exit ${r.status}, signal ${r.signal}, stderr: ${r.stderr.slice(-2000)}`;
