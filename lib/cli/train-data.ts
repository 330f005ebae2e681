/**
 * Training and evaluation data for `lstm train` / `lstm eval`, read whole into memory (fit shuffles
 * and batches in-memory data):
 * - JSONL: `{"input": [[...], ...], "target": [...] | number}` or `{"tokens": [...], "target": ...}`;
 *   a target is a number (a class id, or one value), an array (values per sequence), or an array of
 *   arrays (values per step).
 * - CSV: one sequence per row; the columns named `target` or `target*` are the targets, an `id`
 *   column is ignored, the other cells are T steps of `inputSize` features, flattened.
 * - text: a plain text file for a character model, cut into a token stream (truncated BPTT); the
 *   vocabulary is the sorted set of its characters.
 * Unlike `lstm predict`, a bad row is an error here: training on part of a file silently is worse
 * than stopping.
 */
import { readFileSync } from 'node:fs';
import { parse as parseCsvSync } from 'csv-parse/sync';
import type { ArrayData, TokenData } from '../train/types.js';
import { CliError } from './cli-error.js';

export type DataFormat = 'jsonl' | 'csv' | 'text';

export function formatOf(path: string, format?: string): DataFormat {
  const f = format ?? (path.endsWith('.csv') ? 'csv' : path.endsWith('.txt') ? 'text' : 'jsonl');
  if (f !== 'jsonl' && f !== 'csv' && f !== 'text') throw new CliError(`data format must be jsonl, csv or text, got "${f}"`);
  return f;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read data ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A character stream: the ids of `text` in `vocab` (built from the text when not given). */
export function textData(path: string, vocab?: string[] | null): { data: TokenData; vocab: string[] } {
  const text = read(path);
  const v = vocab ?? [...new Set(Array.from(text))].sort();
  const index = new Map(v.map((c, i) => [c, i]));
  const ids = Int32Array.from(Array.from(text), (c, i) => {
    const id = index.get(c);
    if (id === undefined) throw new CliError(`${path}: character ${JSON.stringify(c)} at ${i} is not in the model's vocabulary`);
    return id;
  });
  if (ids.length < 2) throw new CliError(`${path}: needs at least 2 characters`);
  return { data: { tokens: ids }, vocab: v };
}

/** Sequences and targets of a JSONL or CSV file. */
export function sequenceData(path: string, format: 'jsonl' | 'csv', inputSize: number | null): ArrayData {
  const xs: unknown[] = [];
  const ys: unknown[] = [];
  const bad = (line: number, why: string): never => { throw new CliError(`${path}: line ${line}: ${why}`, 1); };
  if (format === 'jsonl') {
    read(path).split('\n').forEach((text, i) => {
      if (text.trim() === '') return;
      let o: Record<string, unknown>;
      try { o = JSON.parse(text) as Record<string, unknown>; } catch (err) { return bad(i + 1, `not JSON (${(err as Error).message})`); }
      const x = o.tokens ?? o.input;
      if (!Array.isArray(x) || x.length === 0) bad(i + 1, 'needs a non-empty "input" (steps of features) or "tokens" array');
      if (o.target === undefined) bad(i + 1, 'needs a "target"');
      xs.push(x);
      ys.push(o.target);
    });
  } else {
    if (inputSize === null) throw new CliError(`${path}: CSV data needs a model that takes features (use JSONL with "tokens" for token models)`);
    const rows = parseCsvSync(read(path), { skip_empty_lines: true, trim: true, relax_column_count: true }) as string[][];
    const header = rows.shift();
    if (!header) throw new CliError(`${path}: empty CSV`);
    const targetCols = header.flatMap((h, i) => (/^target/.test(h) ? [i] : []));
    if (targetCols.length === 0) throw new CliError(`${path}: the CSV header needs a target column ("target" or "target1", "target2", ...)`);
    rows.forEach((cells, r) => {
      const line = r + 2;
      if (cells.length !== header.length) bad(line, `has ${cells.length} cells, the header has ${header.length}`);
      const nums = (cols: number[]) => cols.map((c) => {
        const v = Number(cells[c]);
        if (cells[c] === '' || !Number.isFinite(v)) bad(line, `cell ${c + 1} is ${JSON.stringify(cells[c])}, not a number`);
        return v;
      });
      const values = nums(header.flatMap((h, i) => (h === 'id' || targetCols.includes(i) ? [] : [i])));
      if (values.length === 0 || values.length % inputSize !== 0) bad(line, `has ${values.length} values, not a whole number of steps of ${inputSize} features`);
      const steps: number[][] = [];
      for (let t = 0; t < values.length; t += inputSize) steps.push(values.slice(t, t + inputSize));
      xs.push(steps);
      const y = nums(targetCols);
      ys.push(y);
    });
  }
  if (xs.length === 0) throw new CliError(`${path}: no rows`);
  // Class ids (one integer per row) stay a flat array; every other target is an array per row.
  const classIds = ys.every((y) => typeof y === 'number' && Number.isInteger(y));
  return { x: xs as number[][][], y: (classIds ? ys : ys.map((y) => (typeof y === 'number' ? [y] : y))) as number[][] };
}
