/**
 * Truncated BPTT over a token stream: the streams are cut the usual way, (h, c) is carried across
 * chunks with the gradient cut between them (the same bits as a hand-written loop that does so),
 * and a small model learns a periodic stream.
 */
import { describe, expect, it } from 'vitest';
import type { Embedding } from '../../lib/layers/embedding.js';
import type { Linear } from '../../lib/layers/linear.js';
import type { LSTM } from '../../lib/layers/lstm.js';
import { losses } from '../../lib/losses.js';
import { Adam, clipGradNorm } from '../../lib/optim/index.js';
import { TokenStreamSource } from '../../lib/train/batches.js';
import { modelInfo } from '../../lib/train/model-info.js';
import type { Tensor } from '../../lib/tensor.js';
import { bitsEqual, charModel, periodicTokens } from './helpers.js';

describe('tbptt', () => {
  it('cuts a token stream into B parallel streams of consecutive chunks', () => {
    const tokens = Int32Array.from({ length: 21 }, (_, i) => i);
    const src = new TokenStreamSource(tokens, 2, 4, modelInfo('t', charModel(1, 30)));
    const batches = [...src.batches(0, 0)];
    expect(src.stepsPerEpoch).toBe(3);
    expect(batches.map((b) => b.x.shape)).toEqual([[2, 4], [2, 4], [2, 2]]);
    expect(Array.from(batches[0]!.x.data)).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
    expect(Array.from(batches[0]!.y!.data)).toEqual([1, 2, 3, 4, 11, 12, 13, 14]);
    expect(Array.from(batches[2]!.x.data)).toEqual([8, 9, 18, 19]);
    expect(Array.from(batches[2]!.y!.data)).toEqual([9, 10, 19, 20]);
    // Time-major models get (T, B) chunks of the same streams.
    const tm = new TokenStreamSource(tokens, 2, 4, modelInfo('t', charModel(1, 30, 6, 16, false)));
    expect(Array.from([...tm.batches(0, 0)][0]!.x.data)).toEqual([0, 10, 1, 11, 2, 12, 3, 13]);
    // Resuming an epoch skips the chunks already trained.
    expect(Array.from([...src.batches(0, 2)][0]!.x.data)).toEqual([8, 9, 18, 19]);
  });

  it('carries (h, c) across chunks and cuts the gradient: the bits of a hand-written loop', async () => {
    const tokens = periodicTokens(200);
    const a = charModel(3, 7, 6, 16, true, 2);
    const b = charModel(3, 7, 6, 16, true, 2);
    const lossesA: number[] = [];
    await a.fit({ tokens }, { tbptt: { steps: 9 }, batchSize: 4, epochs: 2, optimizer: new Adam(a.parameters(), { lr: 1e-2 }),
      clipGradNorm: 1, callbacks: { onBatchEnd: (p) => { lossesA.push(p.loss); } } });
    const opt = new Adam(b.parameters(), { lr: 1e-2 });
    const [embed, lstm, head] = b.layers.map(([, l]) => l) as [Embedding, LSTM, Linear];
    const lossesB: number[] = [];
    const L = Math.floor((tokens.length - 1) / 4);
    for (let epoch = 0; epoch < 2; epoch++) {
      let h: Tensor | undefined;
      let c: Tensor | undefined;
      for (let t0 = 0; t0 < L; t0 += 9) {
        const T = Math.min(9, L - t0);
        const x = new Int32Array(4 * T);
        const y = new Int32Array(4 * T);
        for (let s = 0; s < 4; s++) for (let t = 0; t < T; t++) { x[s * T + t] = tokens[s * L + t0 + t]!; y[s * T + t] = tokens[s * L + t0 + t + 1]!; }
        opt.zeroGrad();
        const e = embed.forward({ data: x, shape: [4, T] });
        const out = lstm.forward(e, h && c ? { h0: h, c0: c } : {});
        const logits = head.forward(out.output);
        const r = losses.crossEntropy(logits, { data: y, shape: [4, T] });
        embed.backward(lstm.backward({ output: head.backward(r.grad) }).x);
        clipGradNorm(b.parameters(), 1);
        opt.step();
        h = out.h;
        c = out.c;
        lossesB.push(r.loss);
      }
    }
    expect(lossesA).toEqual(lossesB);
    expect(bitsEqual(a.parameters().values, b.parameters().values)).toBe(true);
  });

  it('learns a periodic stream, with validation on the held-out tail', async () => {
    const model = charModel(4, 7, 8, 24);
    const h = await model.fit({ tokens: periodicTokens(2000) }, {
      tbptt: { steps: 20 }, batchSize: 8, epochs: 20, validationSplit: 0.1, metrics: ['bitsPerChar', 'accuracy'],
      optimizer: new Adam(model.parameters(), { lr: 1e-2 }),
    });
    const last = h.epochs[h.epochs.length - 1]!;
    expect(h.epochs[0]!.metrics.bitsPerChar).toBeGreaterThan(1);
    // Uniform guessing is log2(7) = 2.81 bits. The validation streams are short and start from zero
    // state, so their first steps cannot know the phase: accuracy, not bits, is the check there.
    expect(last.metrics.bitsPerChar).toBeLessThan(0.1);
    expect(last.valMetrics.accuracy).toBeGreaterThan(0.85);
  });

  it('rejects token streams without tbptt, tbptt without tokens, and too short streams', async () => {
    const model = charModel(5);
    await expect(model.fit({ tokens: periodicTokens(50) }, {})).rejects.toThrow(/pass tbptt: \{ steps \}/);
    await expect(model.fit({ x: [[1, 2]], y: [[2, 3]] }, { tbptt: { steps: 5 } })).rejects.toThrow(/tbptt trains on a token stream/);
    await expect(model.fit({ tokens: periodicTokens(10) }, { tbptt: { steps: 5 }, batchSize: 16 })).rejects.toThrow(/too few for batchSize 16/);
    await expect(model.fit({ tokens: Int32Array.of(1, 2, 9, 3) }, { tbptt: { steps: 2 }, batchSize: 1 }))
      .rejects.toThrow(/tokens\[2\] must be a token id in \[0, 7\), got the number 9/);
    await expect(model.fit({ tokens: periodicTokens(50) }, { tbptt: { step: 5 } as never })).rejects.toThrow(/did you mean "steps"/);
  });
});
