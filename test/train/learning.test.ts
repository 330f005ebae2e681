/**
 * Proof that training learns, in CI-sized versions of the examples (examples/lib/long-lag-run.mjs and
 * examples/airline.mjs run as they ship, on the built package): each must reach a criterion within a
 * fixed amount of training that an untrained or broken trainer (no update, wrong gradient, state
 * dropped) cannot reach. The full-size runs and their numbers are in README and bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript shipped with the examples
import { runLongLag } from '../../examples/lib/long-lag-run.mjs';
// @ts-expect-error: plain JavaScript shipped with the examples
import { addingBatch, temporalOrderBatch } from '../../examples/lib/long-lag-tasks.mjs';
import { Random } from '../../lib/index.js';

interface LongLagResult {
  solved: boolean;
  best_correct: number;
  train_seqs: number;
  reached: { seqs: number; correct: number } | null;
  final_check: { correct: number; of: number };
}

describe('long-lag task generators', () => {
  it('adding: two markers, one among the first 10 steps, targets 0.5 + (X1 + X2) / 4, padding zero', () => {
    const { x, lengths, y } = addingBatch(200, new Random(1), 100) as {
      x: { data: Float32Array; shape: number[] }; lengths: Int32Array; y: { data: Float32Array } };
    const Lmax = x.shape[1]!;
    for (let i = 0; i < 200; i++) {
      const L = lengths[i]!;
      expect(L).toBeGreaterThanOrEqual(100);
      expect(L).toBeLessThanOrEqual(110);
      const marks: number[] = [];
      let sum = 0;
      for (let t = 0; t < Lmax; t++) {
        const v = x.data[(i * Lmax + t) * 2]!;
        const m = x.data[(i * Lmax + t) * 2 + 1]!;
        if (t >= L) { expect([v, m]).toEqual([0, 0]); continue; }
        expect(Math.abs(v)).toBeLessThanOrEqual(1);
        if (m === 1) { marks.push(t); sum += v; }
        else if (t === 0 || t === L - 1) expect(m).toBe(-1);
        else expect(m).toBe(0);
      }
      expect(marks.length).toBe(2);
      expect(marks[0]).toBeLessThan(10);
      expect(marks[1]).toBeLessThan(50);
      expect(y.data[i]).toBeCloseTo(0.5 + sum / 4, 6);
    }
  });
  it('temporal order: E first, B last, X/Y at t1 in [10, 20] and t2 in [50, 60] deciding the class', () => {
    const { x, lengths, y } = temporalOrderBatch(200, new Random(2)) as {
      x: { data: Float32Array; shape: number[] }; lengths: Int32Array; y: { data: Int32Array } };
    const Lmax = x.shape[1]!;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 200; i++) {
      const sym = Array.from({ length: lengths[i]! }, (_, t) => x.data.subarray((i * Lmax + t) * 8, (i * Lmax + t + 1) * 8).indexOf(1));
      expect(sym[0]).toBe(0);
      expect(sym.at(-1)).toBe(1);
      const rel = sym.flatMap((s, t) => (s >= 6 ? [[t + 1, s - 6]] : []));
      expect(rel.length).toBe(2);
      expect(rel[0]![0]).toBeGreaterThanOrEqual(10);
      expect(rel[0]![0]).toBeLessThanOrEqual(20);
      expect(rel[1]![0]).toBeGreaterThanOrEqual(50);
      expect(rel[1]![0]).toBeLessThanOrEqual(60);
      expect(y.data[i]).toBe(2 * rel[0]![1]! + rel[1]![1]!);
      counts[y.data[i]!]! += 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(25);
  });
});

describe('learning (CI-sized runs of the examples)', () => {
  it('adding problem, T = 30: at least 95% of 512 fresh test sequences within 0.04 after at most 102,400 sequences', async () => {
    const r = await runLongLag({ task: 'adding', T: 30, seed: 0, maxTimeLag: 40, testSize: 512, evalEvery: 100, target: 487,
      maxSequences: 64 * 1600, finalTestBatches: 1 }) as LongLagResult;
    // predicting the mean target gets about 15% right; the untrained model fewer
    expect(r.best_correct, JSON.stringify(r)).toBeGreaterThanOrEqual(487);
    expect(r.solved).toBe(true);
    expect(r.final_check.correct).toBeGreaterThanOrEqual(470);
  }, 300_000);

  it('temporal order, lengths 30-40: all 512 fresh test sequences right after at most 38,400 sequences', async () => {
    const r = await runLongLag({ task: 'temporal', T: 30, seed: 0, maxTimeLag: 40, testSize: 512, evalEvery: 100,
      maxSequences: 64 * 600, finalTestBatches: 1 }) as LongLagResult;
    // chance is 25% per sequence for the class, and "right" needs every output within 0.3
    expect(r.best_correct, JSON.stringify(r)).toBe(512);
    expect(r.final_check.correct).toBeGreaterThanOrEqual(505);
  }, 300_000);

  it('airline passengers (seed 0): test RMSE far below the seasonal naive forecast', () => {
    const out = execFileSync(process.execPath, ['examples/airline.mjs', '--seeds', '1'], { encoding: 'utf8' });
    const res = JSON.parse(out.trim().split('\n').find((l) => l.includes('"task":"airline"'))!) as
      { test_rmse_mean: number; seasonal_naive_rmse: number };
    expect(res.seasonal_naive_rmse).toBeCloseTo(41.85, 2);
    expect(res.test_rmse_mean).toBeLessThan(0.75 * res.seasonal_naive_rmse);
  }, 300_000);
});
