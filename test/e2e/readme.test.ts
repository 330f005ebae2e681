/**
 * Every ```js block of the README runs as written (with `lstm-native` resolved to this package's
 * dist/), so the documented examples cannot rot.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, () => {
      const source = code.replaceAll("from 'lstm-native'", `from ${JSON.stringify(join(root, 'dist', 'index.js'))}`);
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr, r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
});
