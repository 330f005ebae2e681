/**
 * Every ```js block of the README and of docs/*.md runs as written (with `lstm-native` resolved to
 * this package's dist/), so the documented examples cannot rot; every relative link points at a
 * file that exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = new Map(pages.map((p) => [p, readFileSync(join(root, p), 'utf8')]));
const blocks = pages.flatMap((p) => [...text.get(p)!.matchAll(/```js\n([\s\S]*?)```/g)].map((m, i) => ({ page: p, i, code: m[1]! })));

describe('README and docs examples', () => {
  it('has examples', () => {
    expect(blocks.filter((b) => b.page === 'README.md').length).toBeGreaterThanOrEqual(3);
  });
  it('links only to files that exist', () => {
    for (const [page, md] of text) {
      for (const [, target] of md.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)) {
        expect(existsSync(join(root, dirname(page), target!)), `${page} links to ${target}`).toBe(true);
      }
    }
  });
  blocks.forEach(({ page, i, code }) => {
    it(`${page} example ${i + 1} runs`, () => {
      const source = code.replaceAll("from 'lstm-native'", `from ${JSON.stringify(join(root, 'dist', 'index.js'))}`);
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr, r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
});
