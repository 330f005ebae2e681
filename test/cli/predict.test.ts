/**
 * `lstm predict` end to end (the built command in a child process): outputs equal the library's
 * forward of each row alone, in input order; bad rows become error records and the run goes on;
 * shards cover every line exactly once; `| head` ends quietly; exit codes and one-line errors.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../lib/cli/model-store.js';
import type { Sequential } from '../../lib/index.js';
import { maxDiff, randomSeq, referenceSteps, rng } from '../infer/helpers.js';
import { lstm, modelFolder, shell } from './helpers.js';

const m = await modelFolder();
afterAll(() => rmSync(m.dir, { recursive: true, force: true }));

const next = rng(99);
const rows = Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, input: randomSeq(next, 1 + Math.floor(next() * 20)) }));
const input = join(m.dir, 'in.jsonl');
writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const parse = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as { id: unknown; output?: number[]; error?: string });

describe('lstm predict', () => {
  it('writes one line per input line, in input order, equal to a forward of the row alone', async () => {
    const r = lstm(['predict', '-m', m.features, '-i', input, '--batch-size', '7', '--window', '50']);
    expect(r.status, r.stderr).toBe(0);
    const out = parse(r.stdout);
    expect(out.map((o) => o.id)).toEqual(rows.map((x) => x.id));
    const model = (await loadModelFile(m.features)).model as Sequential;
    out.forEach((o, i) => {
      const ref = referenceSteps(model, rows[i]!.input);
      const T = rows[i]!.input.length;
      expect(maxDiff(o.output!, ref.subarray((T - 1) * 2, T * 2))).toBeLessThan(1e-5);
    });
    expect(r.stderr).toMatch(/lstm predict: 300 rows, 0 errors, [\d.]+ s, \d+ rows\/s/);
  });

  it('writes an error record for each bad row and keeps every other row', () => {
    const lines = [
      JSON.stringify({ id: 'ok1', input: [[1, 2, 3]] }),
      JSON.stringify({ id: 'short', input: [[1, 2]] }),
      JSON.stringify({ id: 'nan', input: [[1, 'x', 3]] }),
      '{"id": "broken",',
      JSON.stringify({ id: 'empty', input: [] }),
      JSON.stringify({ input: [[0, 0, 0], [1, 1, 1]] }),
    ];
    const r = lstm(['predict', '-m', m.features, '-i', '-'], lines.join('\n') + '\n');
    expect(r.status, r.stderr).toBe(0);
    const out = parse(r.stdout);
    expect(out.map((o) => o.id)).toEqual(['ok1', 'short', 'nan', 4, 'empty', 6]);
    expect(out.map((o) => (o.error ? o.error.replace(/ \(.*$/, '') : 'ok'))).toEqual([
      'ok', 'line 2: input[0] must have 3 features, got 2', 'line 3: input[0][1] must be a finite number, got the string "x"',
      'line 4: not JSON', 'line 5: input must not be empty', 'ok',
    ]);
    expect(r.stderr).toMatch(/6 rows, 4 errors/);
    const t = lstm(['predict', '-m', m.tokens, '-i', '-'], '{"tokens":[1,2]}\n{"tokens":[11]}\n{"tokens":[1.5]}\n');
    expect(parse(t.stdout).map((o) => o.error ?? 'ok')).toEqual(['ok', 'line 2: tokens[0] must be a token id in [0, 11) (the vocabulary), got 11',
      'line 3: tokens[0] must be a token id in [0, 11) (the vocabulary), got 1.5']);
  });

  it('--strict stops at the first bad row with exit 1, leaving no output file behind', () => {
    const out = join(m.dir, 'strict.jsonl');
    const r = lstm(['predict', '-m', m.features, '-i', '-', '-o', out, '--strict'], '{"input":[[1,2,3]]}\n{"input":[[1]]}\n');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('lstm: line 2: input[0] must have 3 features, got 1 (--strict)');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(m.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--shard k/n: the n shards together hold every line exactly once, with the unsharded results', async () => {
    const all = parse(lstm(['predict', '-m', m.features, '-i', input, '-q']).stdout);
    const parts = [0, 1, 2].map((k) => {
      const out = join(m.dir, `part-${k}.jsonl`);
      const r = lstm(['predict', '-m', m.features, '-i', input, '-o', out, '--shard', `${k}/3`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`(shard ${k}/3)`);
      return parse(readFileSync(out, 'utf8'));
    });
    parts.forEach((p, k) => expect(p.map((o) => o.id)).toEqual(rows.filter((_, i) => i % 3 === k).map((x) => x.id)));
    const merged = parts.flat().sort((a, b) => Number(String(a.id).slice(1)) - Number(String(b.id).slice(1)));
    expect(merged.map((o) => o.id)).toEqual(all.map((o) => o.id));
    // Other batches, so other GEMM blockings: equal to float32 rounding, not bit for bit.
    merged.forEach((o, i) => expect(maxDiff(o.output!, all[i]!.output!)).toBeLessThan(1e-5));
  });

  it('reads CSV: an id column, one sequence per row; a ragged row is an error record', () => {
    const csv = 'id,a1,a2,a3,b1,b2,b3\nx,1,2,3,4,5,6\ny,1,2,3\nz,0,0,0,1,1,oops\n';
    const path = join(m.dir, 'in.csv');
    writeFileSync(path, csv);
    const out = parse(lstm(['predict', '-m', m.features, '-i', path]).stdout);
    expect(out.map((o) => o.id)).toEqual(['x', 'y', 'z']);
    expect(out[0]!.output).toHaveLength(2);
    expect(out[1]!.error).toMatch(/line 3: has 4 cells, the first row has 7 \(ragged CSV\)/);
    expect(out[2]!.error).toMatch(/line 4: cell 7 is "oops", not a number/);
  });

  it('--all-steps gives (T, F) per row and --state the final (h, c) of every LSTM', () => {
    const r = lstm(['predict', '-m', m.features, '-i', '-', '--all-steps', '--state'], '{"input":[[1,2,3],[3,2,1],[0,0,1]]}\n');
    const [o] = parse(r.stdout) as unknown as [{ output: number[][]; state: { lstm: { h: number[][]; c: number[][] } } }];
    expect(o.output.length).toBe(3);
    expect(o.output[0]!.length).toBe(2);
    expect(o.state.lstm.h.length).toBe(2);
    expect(o.state.lstm.h[0]!.length).toBe(8);
  });

  it('ends quietly when the reader of stdout goes away (| head)', async () => {
    const big = join(m.dir, 'big.jsonl');
    writeFileSync(big, Array.from({ length: 20000 }, (_, i) => `{"id":${i},"input":[[0.1,0.2,0.3],[0.3,0.2,0.1]]}`).join('\n') + '\n');
    const r = await shell(`node bin/lstm.js predict -m ${m.features} -i ${big} | head -n 3; echo "status \${PIPESTATUS[0]}" >&2`);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr.trim()).toBe('status 0');
  });

  it('exits 2 with one clear line for a missing or corrupt model, an unwritable output or a bad shard spec', () => {
    const corrupt = join(m.dir, 'corrupt.safetensors');
    writeFileSync(corrupt, readFileSync(m.features).subarray(0, 100));
    const cases: [string[], RegExp][] = [
      [['-m', join(m.dir, 'missing.safetensors'), '-i', input], /^lstm: cannot load model: .*missing\.safetensors: no such file$/],
      [['-m', corrupt, '-i', input], /^lstm: cannot load model: .*corrupt\.safetensors: the header length \d+ is larger than the rest of the file/],
      [['-m', m.features, '-i', input, '-o', join(m.dir, 'no-such-dir', 'out.jsonl')], /^lstm: cannot write .*out\.jsonl: ENOENT$/],
      [['-m', m.features, '-i', input, '--shard', '3/2'], /^lstm: --shard k\/n needs 0 <= k < n/],
      [['-m', m.features, '-i', input, '--shard', 'one/two'], /^lstm: --shard must be k\/n/],
      [['-m', m.features, '-i', join(m.dir, 'nope.jsonl')], /^lstm: cannot read input .*nope\.jsonl: no such file$/],
      [['-m', m.features, '-i', input, '--batch-size', '0'], /^lstm: --batch-size must be an integer >= 1, got "0"$/],
    ];
    for (const [args, message] of cases) {
      const r = lstm(['predict', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
  });
});
