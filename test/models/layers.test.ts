/**
 * Linear, Embedding, Dropout and Sequential: results against plain JS references, gradients
 * against finite differences (float32, central differences with eps 1e-2 on a smooth loss: the
 * stated tolerance is 2e-3 of the gradient's scale), one parameter block per model, build-time
 * shape checks, train/eval, and error messages in full.
 */
import { describe, expect, it } from 'vitest';
import { Dropout } from '../../lib/layers/dropout.js';
import { Embedding } from '../../lib/layers/embedding.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import type { Module } from '../../lib/layers/module.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { manualSeed } from '../../lib/random.js';
import { losses } from '../../lib/losses.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(11);
const rand = (shape: number[], scale = 1): Tensor =>
  tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next, scale), shape);

/** loss = sum(out * R) for a fixed random R; checks every parameter (or a sample) by central differences. */
function gradcheck(model: Module, run: () => Tensor, maxChecks = 400) {
  const out = run();
  const R = randomArray(Float32Array, out.data.length, rng(5));
  const loss = () => { const o = run(); let s = 0; for (let i = 0; i < o.data.length; i++) s += o.data[i]! * R[i]!; return s; };
  model.zeroGrad();
  run();
  (model as unknown as { backward(g: Tensor): unknown }).backward({ data: R, shape: out.shape });
  const { values, grads } = model.parameters();
  const analytic = grads.slice();
  const scale = Math.max(...analytic.map(Math.abs), 1e-3);
  const step = Math.max(1, Math.floor(values.length / maxChecks));
  let worst = 0;
  for (let i = 0; i < values.length; i += step) {
    const keep = values[i]!;
    const eps = 1e-2;
    values[i] = keep + eps; const up = loss();
    values[i] = keep - eps; const down = loss();
    values[i] = keep;
    worst = Math.max(worst, Math.abs((up - down) / (2 * eps) - analytic[i]!) / scale);
  }
  return worst;
}

describe('Linear', () => {
  it('computes x W^T + b on the last dimension, like a plain loop', () => {
    const lin = new Linear({ inFeatures: 5, outFeatures: 3, seed: 1 });
    const x = rand([2, 4, 5]);
    const y = lin.forward(x);
    expect(y.shape).toEqual([2, 4, 3]);
    const { weight, bias } = lin.namedParameters();
    for (let n = 0; n < 8; n++) for (let o = 0; o < 3; o++) {
      let s = bias!.data[o]!;
      for (let k = 0; k < 5; k++) s += x.data[n * 5 + k]! * weight!.data[o * 5 + k]!;
      expect(y.data[n * 3 + o]).toBeCloseTo(s, 5);
    }
  });
  it('initialises like PyTorch: U(±1/sqrt(in)) for weight and bias', () => {
    const lin = new Linear({ inFeatures: 100, outFeatures: 50, seed: 2 });
    const { weight, bias } = lin.namedParameters();
    expect(Math.max(...weight!.data.map(Math.abs))).toBeLessThanOrEqual(0.1);
    expect(Math.max(...weight!.data.map(Math.abs))).toBeGreaterThan(0.09);
    expect(Math.max(...bias!.data.map(Math.abs))).toBeLessThanOrEqual(0.1);
  });
  it('has gradients that match finite differences', () => {
    const lin = new Linear({ inFeatures: 6, outFeatures: 4, seed: 3 });
    const x = rand([3, 6]);
    expect(gradcheck(lin, () => lin.forward(x))).toBeLessThan(2e-3);
  });
  it('works without bias and rejects bad shapes', () => {
    const lin = new Linear({ inFeatures: 4, outFeatures: 2, bias: false });
    expect(Object.keys(lin.namedParameters())).toEqual(['weight']);
    expectError(() => lin.forward(rand([3, 5])), RangeError, /^linear.forward: x must have shape \[\*, 4\] \(inFeatures 4\), got \[3, 5\]$/);
    expectError(() => new Linear({ inFeatures: 4, outfeatures: 2 } as never), RangeError,
      /^new Linear: unknown option "outfeatures" \(did you mean "outFeatures"\?\)/);
  });
});

describe('Embedding', () => {
  it('looks rows up and scatters gradients back, skipping paddingIdx', () => {
    const emb = new Embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: 0, seed: 4 });
    const w = emb.namedParameters().weight!.data;
    expect(Array.from(w.subarray(0, 3))).toEqual([0, 0, 0]);
    const tokens = { data: Int32Array.from([1, 0, 1, 9]), shape: [2, 2] };
    const out = emb.forward(tokens);
    expect(out.shape).toEqual([2, 2, 3]);
    expect(Array.from(out.data.subarray(9, 12))).toEqual(Array.from(w.subarray(27, 30)));
    emb.backward({ data: new Float32Array(12).fill(1), shape: [2, 2, 3] });
    const g = emb.namedGradients().weight!.data;
    expect(Array.from(g.subarray(3, 6))).toEqual([2, 2, 2]);
    expect(Array.from(g.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(g.subarray(27, 30))).toEqual([1, 1, 1]);
  });
  it('accepts BigInt64Array ids and names the position of an id outside the vocabulary', () => {
    const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 2 });
    expect(emb.forward({ data: BigInt64Array.from([4n, 0n]), shape: [2] }).shape).toEqual([2, 2]);
    expectError(() => emb.forward({ data: Int32Array.from([1, 2, 3, 7]), shape: [2, 2] }), RangeError,
      /^embedding.forward: tokens\[1, 1\] is 7, outside the vocabulary \[0, 5\) \(numEmbeddings 5\)$/);
    expectError(() => emb.forward({ data: BigInt64Array.from([-1n]), shape: [1] }), RangeError, /tokens\[0\] is -1, outside/);
    expectError(() => emb.forward({ data: new Float32Array(2), shape: [2] } as never), TypeError,
      /^embedding.forward: tokens.data must be an Int32Array or BigInt64Array of token ids, got a Float32Array of 2 elements$/);
  });
});

describe('Dropout', () => {
  it('zeroes about p of the elements in training, scales the rest, and is the identity in eval', () => {
    const drop = new Dropout({ p: 0.25, seed: 1 });
    const x = tensor(new Float32Array(40000).fill(1), [40000]);
    const y = drop.forward(x);
    const zeros = y.data.filter((v) => v === 0).length;
    expect(zeros / 40000).toBeGreaterThan(0.23);
    expect(zeros / 40000).toBeLessThan(0.27);
    expect(y.data.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    const g = drop.backward(tensor(new Float32Array(40000).fill(1), [40000]));
    expect(Array.from(g.data)).toEqual(Array.from(y.data));
    drop.eval();
    expect(drop.forward(x).data).toBe(x.data);
  });
  it('rejects p outside [0, 1)', () => {
    expectError(() => new Dropout({ p: 1 }), RangeError, /^new Dropout: p must be a finite number in \[0, 1\), got the number 1$/);
    expectError(() => new Dropout({ p: -0.1 }), RangeError, /p must be a finite number in \[0, 1\)/);
  });
});

describe('Sequential', () => {
  const build = (seed: number) => new Sequential({
    embed: new Embedding({ numEmbeddings: 7, embeddingDim: 4 }),
    lstm: new LSTM({ inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, batchFirst: true }),
    head: new Linear({ inFeatures: 10, outFeatures: 7 }),
  }, { seed });

  it('names parameters with the layer prefixes, in one contiguous block shared with the layers', () => {
    const model = build(1);
    const names = Object.keys(model.namedParameters());
    expect(names.slice(0, 3)).toEqual(['embed.weight', 'lstm.weight_ih_l0', 'lstm.weight_hh_l0']);
    expect(names).toContain('lstm.bias_hh_l1_reverse');
    expect(names.slice(-2)).toEqual(['head.weight', 'head.bias']);
    const { values } = model.parameters();
    const head = model.layers[2]![1] as Linear;
    head.namedParameters().bias!.data[0] = 42;
    expect(model.namedParameters()['head.bias']!.data[0]).toBe(42);
    expect(values[values.length - 7]).toBe(42);
  });

  it('gives bit-identical weights for one seed and different ones for another', () => {
    expect(build(3).parameters().values).toEqual(build(3).parameters().values);
    expect(build(3).parameters().values).not.toEqual(build(4).parameters().values);
    manualSeed(9);
    const a = new Linear({ inFeatures: 3, outFeatures: 3 }).parameters().values;
    manualSeed(9);
    expect(new Linear({ inFeatures: 3, outFeatures: 3 }).parameters().values).toEqual(a);
  });

  it('has gradients through embedding, 2-layer bidirectional LSTM and linear that match finite differences', () => {
    const model = build(5);
    const tokens = { data: Int32Array.from([1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5]), shape: [2, 6] };
    expect(gradcheck(model, () => model.forward(tokens, { lengths: [6, 4] }), 300)).toBeLessThan(2e-3);
  });

  it('backward with inputGrad: false returns null and the same parameter gradients', () => {
    const model = new Sequential({
      lstm: new LSTM({ inputSize: 6, hiddenSize: 8, numLayers: 2, batchFirst: true, returnSequences: false }),
      head: new Linear({ inFeatures: 8, outFeatures: 2 }),
    }, { seed: 4 });
    const x = rand([3, 5, 6]);
    const dy = rand([3, 2]);
    model.forward(x);
    const dx = model.backward(dy, { retainGraph: true });
    expect(dx!.shape).toEqual([3, 5, 6]);
    const grads = model.parameters().grads.slice();
    model.zeroGrad();
    expect(model.backward(dy, { inputGrad: false })).toBeNull();
    expect(model.parameters().grads).toEqual(grads);
    expectError(() => model.backward(dy, { inputGrad: 'no' as never }), TypeError,
      /^sequential.backward: inputGrad must be a boolean, got the string "no"$/);
  });

  it('passes the last valid step on from an LSTM with returnSequences: false', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true, batchFirst: true, returnSequences: false, seed: 1 });
    const model = new Sequential({ lstm, head: new Linear({ inFeatures: 8, outFeatures: 1, seed: 2 }) });
    const x = rand([3, 5, 3]);
    const y = model.forward(x, { lengths: [5, 2, 3] });
    expect(y.shape).toEqual([3, 1]);
    const full = lstm.forward(x, { lengths: [5, 2, 3] });
    // Forward direction at the last valid step equals the final state.
    const T = 5;
    for (const [b, len] of [[0, 5], [1, 2], [2, 3]] as const) {
      expect(Array.from(full.output.data.subarray((b * T + len - 1) * 8, (b * T + len - 1) * 8 + 4)))
        .toEqual(Array.from(full.h.data.subarray(b * 4, b * 4 + 4)));
    }
    expect(gradcheck(model, () => model.forward(x, { lengths: [5, 2, 3] }))).toBeLessThan(2e-3);
  });

  it('catches mismatched feature sizes when built', () => {
    expectError(() => new Sequential({
      embed: new Embedding({ numEmbeddings: 7, embeddingDim: 4 }),
      lstm: new LSTM({ inputSize: 5, hiddenSize: 5 }),
    }), RangeError, /^new Sequential: layer "lstm" takes 5 features, but "embed" produces 4 features$/);
    expectError(() => new Sequential([new Linear({ inFeatures: 2, outFeatures: 3 }), new Embedding({ numEmbeddings: 3, embeddingDim: 2 })]),
      RangeError, /^new Sequential: layer "1" takes token ids, but "0" produces 3 features$/);
    const lin = new Linear({ inFeatures: 2, outFeatures: 2 });
    expectError(() => new Sequential([lin, lin]), RangeError, /layer "1" appears twice/);
  });

  it('turns dropout off in eval mode and on in train mode', () => {
    const model = new Sequential({
      lstm: new LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5, batchFirst: true }),
      drop: new Dropout({ p: 0.5 }),
    }, { seed: 1 });
    const x = rand([2, 4, 3]);
    model.eval();
    const a = model.forward(x).data.slice();
    expect(model.forward(x).data).toEqual(a);
    model.train();
    expect(model.forward(x).data).not.toEqual(a);
  });

  it('loads a state dict strictly by default and partially with strict: false', () => {
    const model = build(1);
    const sd = model.stateDict();
    const other = build(2);
    other.loadStateDict(sd);
    expect(other.parameters().values).toEqual(model.parameters().values);
    const { ['head.bias']: _b, ...partial } = sd;
    expectError(() => other.loadStateDict(partial), RangeError, /missing head.bias/);
    expect(other.loadStateDict(partial, { strict: false })).toEqual({ missingKeys: ['head.bias'], unexpectedKeys: [] });
  });
});

describe('Sequential with each loss', () => {
  // Embedding -> 2-layer bidirectional LSTM (dropout off) -> Linear, then the loss: the model's
  // parameter gradients from backward(loss grad) match central differences of the loss itself.
  const B = 2;
  const T = 5;
  const C = 4;
  const tokens = { data: Int32Array.from([1, 2, 3, 4, 5, 6, 0, 1, 2, 3]), shape: [B, T] };
  const classes = { data: Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3, 1, 2]), shape: [B, T] };
  const target = rand([B, T, C]);
  const binary = tensor(Float32Array.from({ length: B * T * C }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), [B, T, C]);
  const cases: [string, (logits: Tensor) => { loss: number; grad: Tensor }][] = [
    ['mse', (y) => losses.mse(y, target)],
    ['mae', (y) => losses.mae(y, target)],
    ['huber', (y) => losses.huber(y, target, { delta: 0.5 })],
    ['crossEntropy', (y) => losses.crossEntropy(y, classes, { labelSmoothing: 0.1 })],
    ['binaryCrossEntropyWithLogits', (y) => losses.binaryCrossEntropyWithLogits(y, binary)],
  ];
  for (const [name, lossFn] of cases) {
    it(`matches finite differences through the whole model: ${name}`, () => {
      const model = new Sequential({
        embed: new Embedding({ numEmbeddings: 7, embeddingDim: 3 }),
        lstm: new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, batchFirst: true }),
        head: new Linear({ inFeatures: 8, outFeatures: C }),
      }, { seed: 21 });
      const loss = () => lossFn(model.forward(tokens, { lengths: [5, 3] })).loss;
      model.zeroGrad();
      model.backward(lossFn(model.forward(tokens, { lengths: [5, 3] })).grad);
      const { values, grads } = model.parameters();
      const analytic = grads.slice();
      const scale = Math.max(...analytic.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < values.length; i += 3) {
        const keep = values[i]!;
        values[i] = keep + 1e-2; const up = loss();
        values[i] = keep - 1e-2; const down = loss();
        values[i] = keep;
        worst = Math.max(worst, Math.abs((up - down) / 2e-2 - analytic[i]!) / scale);
      }
      expect(worst).toBeLessThan(name === 'mae' || name === 'huber' ? 2e-2 : 3e-3);
    });
  }
});
