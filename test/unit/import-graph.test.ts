/**
 * The import graph of lib/: no cycle (type-only imports count: they tie the files together for a
 * reader as much as value imports do), and the foundation files never reach up into the layers.
 * The graph is read from the sources with TypeScript's own pre-processor, so `import type`,
 * `export ... from`, dynamic `import()` and `declare module` augmentations are all edges.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../../lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** file (relative to lib/) -> the lib/ files it imports (relative specifiers only; `.js` maps to `.ts`). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(LIB)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const specifiers = info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'));
    graph.set(relative(LIB, file), specifiers.map((s) => relative(LIB, resolve(dirname(file), s.replace(/\.js$/, '.ts')))));
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the path that closes it (`a.ts -> b.ts -> a.ts`). */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') found.push([...path.slice(path.indexOf(dep)), dep].join(' -> '));
      else if (!state.has(dep)) visit(dep);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

describe('lib/ import graph', () => {
  const graph = importGraph();

  it('reads the imports it should (the walk sees type imports)', () => {
    expect(graph.get('index.ts')).toContain('layers/lstm.ts');
    expect(graph.size).toBeGreaterThan(20);
  });

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the walk itself is checked)', () => {
    const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    expect(cycles(g)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
  });

  it('keeps the foundation below the layers: errors, validate, tensor, random, parameters and optim import no layer', () => {
    const foundation = [...graph.keys()].filter((f) =>
      /^(errors|validate|tensor|random|parameters|init|uninitialized|binding|backend|losses|schedule)\.ts$|^optim\//.test(f));
    expect(foundation.length).toBeGreaterThan(10);
    const upward = foundation.flatMap((f) => graph.get(f)!.filter((d) => d.startsWith('layers/')).map((d) => `${f} -> ${d}`));
    expect(upward).toEqual([]);
  });
});
