// Every JavaScript block of README.md runs as written: extracted to a file
// inside the package (so `require('instnorm')` and `import ... from
// 'instnorm'` resolve to this package through its "exports"), run with Node,
// it must exit 0 and print nothing on stderr. A block with `import` or a
// top-level `await` runs as an ES module, any other as CommonJS.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The JavaScript blocks, with the line each starts on (for the test name). */
function javascriptBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const re = /^```(js|javascript|mjs|cjs)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const m of markdown.matchAll(re)) {
    blocks.push({ line: markdown.slice(0, m.index).split('\n').length, code: m[2] });
  }
  return blocks;
}

const isModule = (code: string) => /^\s*import\s/m.test(code) || /^\s*(const|let|var)?[^'"\n]*\bawait\b/m.test(code);

const blocks = javascriptBlocks(readme);
const dir = path.join(root, '.tmp', `readme-${process.pid}`);
beforeAll(() => fs.mkdirSync(dir, { recursive: true }));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('README.md JavaScript examples', () => {
  it('has the examples this test runs', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(12);
  });

  it.each(blocks.map((b) => [b.line, b.code] as const))('the block at line %i runs as written', (line, code) => {
    const file = path.join(dir, `line-${line}.${isModule(code) ? 'mjs' : 'cjs'}`);
    fs.writeFileSync(file, code);
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('INSTNORM_')) delete env[k];
    const r = spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
