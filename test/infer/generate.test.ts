/** generate(): seeded sampling with the state carried step to step. */
import { describe, expect, it } from 'vitest';
import { generate } from '../../lib/index.js';
import { Random } from '../../lib/random.js';
import { sampleToken } from '../../lib/infer/sample.js';
import { featureModel, referenceSteps, tokenModel } from './helpers.js';

describe('generate', () => {
  it('greedy decoding (temperature 0) picks the argmax of a full-sequence forward at each step', async () => {
    const model = tokenModel(3);
    const prompt = [1, 2, 3];
    const out = await generate(model, { prompt, length: 6, temperature: 0 });
    const seq = [...prompt];
    for (let t = 0; t < 6; t++) {
      const y = referenceSteps(model, seq);
      const last = y.subarray((seq.length - 1) * 11, seq.length * 11);
      const best = last.indexOf(Math.max(...last));
      expect(out[t]).toBe(best);
      seq.push(best);
    }
  });

  it('gives the same tokens for the same seed and different ones for another seed', async () => {
    const model = tokenModel(4);
    const a = await generate(model, { prompt: [5], length: 40, temperature: 1.5, seed: 1 });
    const b = await generate(model, { prompt: [5], length: 40, temperature: 1.5, seed: 1 });
    const c = await generate(model, { prompt: [5], length: 40, temperature: 1.5, seed: 2 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const streamed: number[] = [];
    await generate(model, { prompt: [5], length: 40, temperature: 1.5, seed: 1, onToken: (id) => streamed.push(id) });
    expect(streamed).toEqual(Array.from(a));
  });

  it('topK 1 is greedy', async () => {
    const model = tokenModel(5);
    const greedy = await generate(model, { prompt: [0, 1], length: 10, temperature: 0 });
    const top1 = await generate(model, { prompt: [0, 1], length: 10, temperature: 3, topK: 1, seed: 9 });
    expect(Array.from(top1)).toEqual(Array.from(greedy));
  });

  it('sampleToken draws in proportion to softmax(logits / T) and only from the top k', () => {
    const logits = Float32Array.from([0, Math.log(3), -50, Math.log(6)]);
    const rng = new Random(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(logits, 1, 0, rng)]!++;
    expect(counts[0]! / 20000).toBeCloseTo(0.1, 1);
    expect(counts[1]! / 20000).toBeCloseTo(0.3, 1);
    expect(counts[3]! / 20000).toBeCloseTo(0.6, 1);
    const top2 = [0, 0, 0, 0];
    for (let i = 0; i < 5000; i++) top2[sampleToken(logits, 1, 2, rng)]!++;
    expect(top2[0]).toBe(0);
    expect(top2[2]).toBe(0);
  });

  it('rejects bad options and models with errors naming them', async () => {
    const model = tokenModel(6);
    await expect(generate(model, { prompt: [], length: 3 })).rejects.toThrow(/prompt must hold at least one token/);
    await expect(generate(model, { prompt: [11], length: 3 })).rejects.toThrow(/prompt\[0\] must be a token id in \[0, 11\)/);
    await expect(generate(model, { prompt: [1], length: -1 })).rejects.toThrow(/length must be an integer >= 0/);
    await expect(generate(model, { prompt: [1], length: 2, temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(model, { prompt: [1], length: 2, topk: 3 } as never)).rejects.toThrow(/did you mean "topK"/);
    await expect(generate(featureModel(), { prompt: [1], length: 2 })).rejects.toThrow(/must start with an Embedding/);
  });
});
