/**
 * Reading `lstm predict` input as a stream of rows: JSONL (`{"id": ..., "input": [[...], ...]}` or
 * `{"id": ..., "tokens": [...]}` per line) or CSV (one sequence per row: an optional `id` column,
 * the other cells the sequence's values, T steps of I features flattened, or T token ids). Only the
 * rows of this process's shard are parsed. A row that cannot be parsed becomes an `Error` item in
 * its place (predictStream turns it into that row's error record), so a bad line never stops the
 * run or shifts another row.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import type { PredictItem } from '../infer/predict-stream.js';
import type { StepInput } from '../infer/stepper.js';
import type { Shard } from './shard.js';

/** What every row carries besides its data: its 1-based line number and its id (default: the line number). */
export interface RowMeta { line: number; id: unknown }
export type InputRow = PredictItem & RowMeta;

/** An error item for line `line`, carrying its id so the error record can name it. */
function badRow(line: number, id: unknown, message: string): InputRow {
  return Object.assign(new Error(`line ${line}: ${message}`), { line, id }) as unknown as InputRow;
}

function writableJson(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

/** JSONL rows of the shard, in order. */
export async function* jsonlRows(source: Readable, shard: Shard): AsyncGenerator<InputRow> {
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let index = 0;
  for await (const text of lines) {
    const i = index++;
    if (i % shard.n !== shard.k) continue;
    const line = i + 1;
    if (text.trim() === '') { yield badRow(line, line, 'empty line (expected a JSON object)'); continue; }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield badRow(line, line, `not JSON (${(err as Error).message})`);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield badRow(line, line, 'expected a JSON object like {"id": 1, "input": [[...]]} or {"id": 1, "tokens": [...]}');
      continue;
    }
    // The parsed object is ours: mark it in place rather than copy it.
    const o = value as Record<string, unknown>;
    // The id is written back as JSON: one that JSON.parse took but JSON.stringify cannot write
    // (nested thousands deep) makes this row an error record under its line number.
    if (typeof o.id === 'object' && o.id !== null && !writableJson(o.id)) {
      yield badRow(line, line, 'id is nested too deeply to write back as JSON');
      continue;
    }
    o.id ??= line;
    o.line = line;
    yield o as unknown as InputRow;
  }
}

/** csv-parse's options for one line of predict input (the fuzz test reads lines the same way). */
export const CSV_LINE_OPTIONS = { relax_column_count: true, relax_quotes: true, trim: true } as const;

/** The cells of one CSV line, or the parser's message when the line is not valid CSV. */
export function csvCells(text: string): string[] | string {
  try {
    const records = parseCsv(text, CSV_LINE_OPTIONS) as string[][];
    return records.length === 1 ? records[0]! : `expected one record, got ${records.length}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * CSV rows of the shard, in order, one record per line: a line that is not valid CSV (a stray
 * quote) is an error record in its place and the next line is read on its own, so one bad line
 * never ends the run or shifts another row (a quoted cell cannot span lines: the cells are
 * numbers and ids). The first record is a header when any of its cells is not a number; a header
 * column named `id` holds the row ids. Rows must all have the first record's number of cells (a
 * ragged row is an error record); blank lines are skipped.
 */
export async function* csvRows(source: Readable, shard: Shard, input: StepInput): AsyncGenerator<InputRow> {
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let width = -1;
  let idCol = -1;
  let index = 0;
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    const cells = csvCells(text);
    if (typeof cells === 'string') {
      if (index++ % shard.n === shard.k) yield badRow(line, line, `not valid CSV (${cells})`);
      continue;
    }
    if (width < 0) {
      width = cells.length;
      if (cells.some((c) => c === '' || !Number.isFinite(Number(c)))) {
        idCol = cells.indexOf('id');
        continue;  // a header
      }
    }
    const i = index++;
    if (i % shard.n !== shard.k) continue;
    const id = idCol >= 0 ? cells[idCol] : line;
    if (cells.length !== width) { yield badRow(line, id, `has ${cells.length} cells, the first row has ${width} (ragged CSV)`); continue; }
    const values: number[] = [];
    let bad = '';
    cells.forEach((c, col) => {
      if (col === idCol || bad) return;
      const v = c === '' ? NaN : Number(c);
      if (!Number.isFinite(v)) bad = `cell ${col + 1} is ${JSON.stringify(c)}, not a number`;
      values.push(v);
    });
    if (bad) { yield badRow(line, id, bad); continue; }
    if (input.kind === 'tokens') { yield { tokens: values, line, id } as InputRow; continue; }
    if (values.length % input.size !== 0) {
      yield badRow(line, id, `has ${values.length} values, not a whole number of steps of ${input.size} features`);
      continue;
    }
    const steps: number[][] = [];
    for (let t = 0; t < values.length; t += input.size) steps.push(values.slice(t, t + input.size));
    yield { input: steps, line, id } as InputRow;
  }
}
