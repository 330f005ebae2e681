/**
 * predictStream(): results in input order whatever the length bucketing did, equal to a
 * one-sequence forward per row; bad rows become error results in place; memory stays bounded
 * (an endless source is read at most two windows ahead of the consumer).
 */
import { describe, expect, it } from 'vitest';
import { LSTM, predictStream, type PredictResult } from '../../lib/index.js';
import { featureModel, maxDiff, randomSeq, referenceSteps, rng, tokenModel } from './helpers.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('predictStream', () => {
  it('yields every row in input order, equal to a forward of that row alone (ragged lengths, bucketing)', async () => {
    const model = featureModel(11);
    const next = rng(21);
    const rows = Array.from({ length: 157 }, (_, i) => ({ id: `r${i}`, input: randomSeq(next, 1 + Math.floor(next() * 12)) }));
    const results = await collect(predictStream(model, rows, { batchSize: 8, window: 40 }));
    expect(results.map((r) => r.index)).toEqual(rows.map((_, i) => i));
    results.forEach((r, i) => {
      expect(r.item.id).toBe(`r${i}`);
      const ref = referenceSteps(model, rows[i]!.input);
      const T = rows[i]!.input.length;
      expect(r.output!.shape).toEqual([2]);
      expect(maxDiff(r.output!.data, ref.subarray((T - 1) * 2, T * 2))).toBeLessThan(1e-5);
    });
  });

  it('allSteps returns every step; a returnSequences:false model gives its last valid step by default', async () => {
    const model = featureModel(12);
    const last = featureModel(12, false);
    const next = rng(22);
    const rows = [randomSeq(next, 5), randomSeq(next, 2), randomSeq(next, 9)];
    const all = await collect(predictStream(model, (async function* () { yield* rows; })(), { allSteps: true }));
    const lastOnly = await collect(predictStream(last, rows));
    rows.forEach((seq, i) => {
      const ref = referenceSteps(model, seq);
      expect(all[i]!.output!.shape).toEqual([seq.length, 2]);
      expect(maxDiff(all[i]!.output!.data, ref)).toBeLessThan(1e-5);
      expect(maxDiff(lastOnly[i]!.output!.data, ref.subarray((seq.length - 1) * 2))).toBeLessThan(1e-5);
    });
  });

  it('turns bad rows into error results in place and keeps going; strict throws', async () => {
    const model = tokenModel(13);
    const rows = [{ tokens: [1, 2] }, { tokens: [1, 99] }, { tokens: [] }, { input: [[1]] }, new Error('line 5: not JSON'), { tokens: [3] }];
    const results = await collect(predictStream(model, rows as never[])) as PredictResult[];
    expect(results.map((r) => (r.error ? r.error.message : 'ok'))).toEqual([
      'ok',
      'row 1: tokens[1] must be a token id in [0, 11) (the vocabulary), got 99',
      'row 2: tokens must not be empty',
      'row 3: tokens must be an array of token ids (the model starts with an Embedding), got undefined',
      'line 5: not JSON',
      'ok',
    ]);
    await expect(collect(predictStream(model, rows as never[], { strict: true }))).rejects.toThrow(/row 1: tokens\[1\]/);
  });

  it('returns final states when asked: they equal the LSTM final states of the row alone', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 3 });
    const seq = randomSeq(rng(23), 6);
    const [r] = await collect(predictStream(lstm, [seq, randomSeq(rng(24), 2)], { state: true }));
    const ref = lstm.forward({ data: Float32Array.from(seq.flat()), shape: [6, 1, 3] });
    expect(maxDiff(r!.state!.lstm!.h.data, ref.h.data)).toBeLessThan(1e-5);
    expect(maxDiff(r!.state!.lstm!.c.data, ref.c.data)).toBeLessThan(1e-5);
  });

  it('reads an endless source at most two windows ahead of the consumer', async () => {
    const model = featureModel(14);
    let produced = 0;
    const endless = (function* () { for (;;) { produced++; yield [[0.1, 0.2, 0.3]]; } })();
    let consumed = 0;
    for await (const _ of predictStream(model, endless, { batchSize: 4, window: 16 })) {
      if (++consumed === 50) break;
    }
    expect(produced).toBeLessThanOrEqual(50 + 2 * 16);
  });

  it('rejects bad options', () => {
    expect(() => predictStream(featureModel(), [], { batchSize: 0 })).toThrow(/batchSize must be an integer >= 1/);
    expect(() => predictStream(featureModel(), 5 as never)).toThrow(/items must be an iterable/);
  });
});
