/**
 * Fuzzing `lstm predict` input lines: valid JSONL and CSV rows for a feature model and a token model
 * are mutated (byte flips, truncation, inserted junk, odd values in every field, ragged and huge
 * sequences, wrong keys, deep and odd ids, 1e4-magnitude values) and fed to the built command. Every
 * case must give exactly one output line in input order: a result of the right width with finite
 * numbers, or `{"id": .., "error": ..}`; the run exits 0, never crashes, hangs or loses a row.
 *
 * The budget is LSTM_NATIVE_FUZZ_PREDICT_CASES (default 20,000: 3 runs of JSONL for 1 of CSV, 5,000
 * lines a run of the command); LSTM_NATIVE_FUZZ_SEED picks the sequence. `node scripts/fuzz-predict.mjs
 * [cases] [seed]` runs this file with a larger budget. The built command is dist/ (`npm test` builds it).
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvCells } from '../../lib/cli/input-rows.js';
import { bin, modelFolder, root } from '../cli/helpers.js';
import { Dice } from './dice.js';

const CASES = Number(process.env.LSTM_NATIVE_FUZZ_PREDICT_CASES ?? 20_000);
const SEED = Number(process.env.LSTM_NATIVE_FUZZ_SEED ?? 20261207);
/** Rows per run of the command: large enough that process start-up is a small share. */
const PER_RUN = 5_000;

const m = await modelFolder();
afterAll(() => rmSync(m.dir, { recursive: true, force: true }));

function oddNumberText(d: Dice): string {
  return d.pick(['NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '1e4', '-1e4', '10000', '-0', '0', '1e-45',
    '3.4e38', '-3.4e38', '9007199254740993', '0x10', '"1"', '""', 'null', 'true', '[]', '{}', '[1]', '1e', '.5', '+1']);
}

function oddId(d: Dice): string {
  return d.pick<() => string>([
    () => '"a"', () => '0', () => '-1', () => 'null', () => '[]', () => '{}', () => '{"a":{"b":[1,2]}}', () => '1e308',
    () => JSON.stringify('x'.repeat(10_000)), () => JSON.stringify('\u2028\u0000\ud800'), () => `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
    () => `${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}`, () => '"__proto__"', () => 'true',
  ])();
}

/** A valid feature row (3 features a step) or token row (ids in [0, 11)). */
function validRow(d: Dice, tokens: boolean, big: boolean): { id: string; body: string } {
  const T = d.chance(0.02) ? 500 + d.int(2_000) : 1 + d.int(12);
  const scale = big ? 1e4 : 1;
  const body = tokens
    ? JSON.stringify(Array.from({ length: T }, () => d.int(11)))
    : JSON.stringify(Array.from({ length: T }, () => [0, 1, 2].map(() => (d.next() * 2 - 1) * scale)));
  return { id: JSON.stringify(d.chance(0.5) ? `r${d.int(1e6)}` : d.int(1e6)), body };
}

/** Edits the text of a JSON array of steps: an odd value, a ragged or empty step, an extra level. */
function mutateBody(d: Dice, body: string): string {
  return d.pick<() => string>([
    () => body.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/, oddNumberText(d)),
    () => body.replace(/\[(-?[\d.e-]+),/, '[$1,$1,'),
    () => body.replace(/\[[^[\]]*\]/, '[]'),
    () => `[${body}]`,
    () => '[]',
    () => body.slice(1, -1),
    () => oddNumberText(d),
    () => body.replace(/,/g, d.chance(0.5) ? ', ' : ',,'),
  ])();
}

/** Random edits of the bytes of a line (no line breaks: those would make two lines, counted apart). */
function mutateText(d: Dice, line: string): string {
  const chars = [...line];
  const edits = 1 + d.int(4);
  for (let k = 0; k < edits && chars.length; k++) {
    const i = d.int(chars.length);
    const r = d.int(4);
    if (r === 0) chars[i] = String.fromCharCode(32 + d.int(95));
    else if (r === 1) chars.splice(i, 1);
    else if (r === 2) chars.splice(i, 0, d.pick(['"', '\\', '{', '}', '[', ']', ',', ':', '\u0000', '\ufeff', '\u00e9', '\ud83d']));
    else chars.length = i;
  }
  return chars.join('');
}

function jsonlLine(d: Dice, tokens: boolean): string {
  const row = validRow(d, tokens, d.chance(0.1));
  const key = tokens ? 'tokens' : 'input';
  const r = d.int(10);
  if (r < 3) return `{"id":${row.id},"${key}":${row.body}}`;
  if (r === 3) return `{"id":${oddId(d)},"${key}":${row.body}}`;
  if (r === 4) return `{"id":${row.id},"${key}":${mutateBody(d, row.body)}}`;
  if (r === 5) return mutateText(d, `{"id":${row.id},"${key}":${row.body}}`);
  if (r === 6) {
    const other = d.pick(['tokens', 'input', 'inputs', '', '__proto__', 'constructor']);
    return d.chance(0.5) ? `{"id":${row.id},"${other}":${row.body}}` : `{"id":${row.id},"${key}":${row.body},"${other}":${row.body}}`;
  }
  if (r === 7) return d.pick(['', ' ', '{}', '[]', 'null', '1', '"x"', '{"id":1}', '\ufeff{}', '{"input":null}', '{"tokens":{}}']);
  if (r === 8) return `{"id":${row.id},"${key}":${row.body},"id":${oddId(d)}}`;
  return `{"${key}":${row.body}}`;
}

function csvLine(d: Dice, tokens: boolean, width: number): string {
  const n = tokens ? width : width * 3;
  const cells = Array.from({ length: n }, () => (tokens ? String(d.int(11)) : String((d.next() * 2 - 1) * (d.chance(0.1) ? 1e4 : 1))));
  const r = d.int(6);
  if (r === 0) cells[d.int(n)] = d.pick(['', 'x', 'NaN', 'Infinity', '1e400', '-1', '11', '1.5', '" 1 "', '0x1', ' ', '"a""b"']);
  if (r === 1) cells.length = d.int(n);
  if (r === 2) cells.push(...cells.slice(0, 1 + d.int(3)));
  const line = `${d.int(1e6)},${cells.join(',')}`;
  return r === 3 ? mutateText(d, line) : line;
}

/** Lines as node's readline splits them (CR, LF or CRLF end a line). */
const splitLines = (text: string): string[] => {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

/** The id jsonlRows gives line `line` (1-based): the object's `id`, else the line number. */
function expectedId(text: string, line: number): string {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return JSON.stringify((v as { id?: unknown }).id ?? line);
  } catch { /* not JSON, or an id too deep to write back: an error record with the line number */ }
  return JSON.stringify(line);
}

/**
 * The ids of the records a CSV input gives, one per non-blank line (the header's line excepted):
 * the id column's cell when a header names one, else the line number.
 */
function expectedCsvIds(text: string): string[] {
  const ids: string[] = [];
  let headerSeen = false;
  let idCol = -1;
  splitLines(text).forEach((t, k) => {
    if (t.trim() === '') return;
    const cells = csvCells(t);
    if (!headerSeen && typeof cells !== 'string') {
      headerSeen = true;
      if (cells.some((c) => c === '' || !Number.isFinite(Number(c)))) {
        idCol = cells.indexOf('id');
        return;
      }
    }
    ids.push(JSON.stringify((typeof cells !== 'string' && idCol >= 0 ? cells[idCol] : k + 1) ?? null));
  });
  return ids;
}

interface Out { id?: unknown; output?: unknown; error?: unknown }

function runPredict(model: string, file: string, format: 'jsonl' | 'csv'): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, 'predict', '-m', model, '-i', file, '--format', format, '-q', '-b', '16'],
      { cwd: root, env: { ...process.env, LSTM_NATIVE_POISON_OUTPUTS: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    p.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 180_000);   // a hang fails as a signal
    p.on('close', (status, signal) => { clearTimeout(timer); resolve({ status, signal, stdout, stderr }); });
  });
}

/** Checks one output line against its input; returns what was wrong, or ''. */
function checkRecord(o: Out, width: number): string {
  if (typeof o.error === 'string') return o.error.startsWith('line ') ? '' : `error without a line number: ${o.error}`;
  if (!Array.isArray(o.output)) return 'neither output nor error';
  if (o.output.length !== width) return `output has ${o.output.length} values, expected ${width}`;
  return o.output.every((v) => typeof v === 'number' && Number.isFinite(v)) ? '' : `non-finite output ${JSON.stringify(o.output)}`;
}

/** Lines the fuzzer once broke the command with, each with the record it must give. */
const REGRESSIONS: [string, string][] = [
  // JSON.parse takes an id nested 5,000 deep, JSON.stringify overflows the stack writing it back:
  // the whole run died with "Maximum call stack size exceeded" and lost every row.
  [`{"id":${'['.repeat(5_000)}${']'.repeat(5_000)},"input":[[1,2,3]]}`, '{"id":1,"error":"line 1: id is nested too deeply to write back as JSON"}'],
  ['{"id":"ok","input":[[1,2,3]]}', '{"id":"ok","output":'],
];
/** CSV lines that once ended the run: a stray quote ("Invalid Opening Quote") lost every later row. */
const CSV_REGRESSIONS: [string, string][] = [
  ['id,a,b,c', ''],
  ['1,0.5,0.5,0.5', '{"id":"1","output":'],
  ['2,0.5,7"3,0.5', '{"id":"2","error":"line 3: cell 3 is'],
  ['"4"x,0.5,0.5,0.5', '{"id":4,"error":"line 4: not valid CSV (Invalid Closing Quote'],
  ['"6,0.5', '{"id":5,"error":"line 5: not valid CSV (Quote Not Closed'],
  ['7,0.5,0.5,0.5', '{"id":"7","output":'],
];

describe('lstm predict input fuzzing', () => {
  it('the kept regression cases give their records', async () => {
    const file = join(m.dir, 'regressions.jsonl');
    writeFileSync(file, REGRESSIONS.map(([line]) => line).join('\n') + '\n');
    const r = await runPredict(m.features, file, 'jsonl');
    expect(r.status, r.stderr).toBe(0);
    const out = splitLines(r.stdout);
    expect(out.length).toBe(REGRESSIONS.length);
    out.forEach((line, i) => expect(line.startsWith(REGRESSIONS[i]![1]), line).toBe(true));
    const csv = join(m.dir, 'regressions.csv');
    writeFileSync(csv, CSV_REGRESSIONS.map(([line]) => line).join('\n') + '\n');
    const c = await runPredict(m.features, csv, 'csv');
    expect(c.status, c.stderr).toBe(0);
    const outCsv = splitLines(c.stdout);
    expect(outCsv.length, c.stdout).toBe(CSV_REGRESSIONS.length - 1);
    outCsv.forEach((line, i) => expect(line.startsWith(CSV_REGRESSIONS[i + 1]![1]), line).toBe(true));
  });

  const runs: { format: 'jsonl' | 'csv'; tokens: boolean; cases: number; seed: number }[] = [];
  for (let done = 0, k = 0; done < CASES; k++) {
    const cases = Math.min(PER_RUN, CASES - done);
    runs.push({ format: k % 4 === 3 ? 'csv' : 'jsonl', tokens: k % 2 === 1, cases, seed: SEED + k });
    done += cases;
  }
  it.each(runs)(`$cases mutated $format lines (tokens: $tokens, seed $seed): one record per line, in order, exit 0`, async ({ format, tokens, cases, seed }) => {
    const d = new Dice(seed);
    const width = tokens ? 11 : 2;
    const csvWidth = 1 + d.int(6);
    const lines = Array.from({ length: cases }, () => (format === 'csv' ? csvLine(d, tokens, csvWidth) : jsonlLine(d, tokens)));
    const file = join(m.dir, `fuzz-${seed}.${format}`);
    // CSV: a header naming the id column, as a user's file would have.
    const header = format === 'csv' ? [['id', ...Array.from({ length: tokens ? csvWidth : csvWidth * 3 }, (_, k) => `v${k}`)].join(',')] : [];
    const text = [...header, ...lines].join('\n') + '\n';
    writeFileSync(file, text);
    const r = await runPredict(tokens ? m.tokens : m.features, file, format);
    const context = `seed ${seed}, ${format}, tokens ${tokens}: exit ${r.status} ${r.signal ?? ''} ${r.stderr.slice(0, 2000)}`;
    expect(r.signal, context).toBeNull();
    expect(r.status, context).toBe(0);
    const outs = splitLines(r.stdout).map((l) => JSON.parse(l) as Out);
    const problems: string[] = [];
    if (format === 'jsonl') {
      const read = splitLines(Buffer.from(text, 'utf8').toString('utf8'));
      expect(outs.length, context).toBe(read.length);
      outs.forEach((o, i) => {
        const bad = checkRecord(o, width) || (JSON.stringify(o.id) === expectedId(read[i]!, i + 1) ? '' : `id ${JSON.stringify(o.id)}`);
        if (bad && problems.length < 5) problems.push(`line ${i + 1} ${JSON.stringify(read[i]!.slice(0, 200))}: ${bad}`);
      });
    } else {
      const expected = expectedCsvIds(text);
      expect(outs.length, context).toBe(expected.length);
      outs.forEach((o, i) => {
        const bad = checkRecord(o, width) || (JSON.stringify(o.id) === expected[i] ? '' : `id ${JSON.stringify(o.id)}, expected ${expected[i]}`);
        if (bad && problems.length < 5) problems.push(`record ${i + 1}: ${bad}`);
      });
    }
    expect(problems, context).toEqual([]);
    const errors = outs.filter((o) => o.error !== undefined).length;
    // Both kinds of record must occur, or the mutations are too weak or too strong to test anything.
    expect(errors).toBeGreaterThan(outs.length * 0.1);
    expect(errors).toBeLessThan(outs.length * 0.95);
  }, 600_000);
});
