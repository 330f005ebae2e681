/**
 * Every source of randomness can be saved and restored: Random.state/loadState, the process-wide
 * generator (getRngState/setRngState), and the dropout-mask generators of a model
 * (rngState/loadRngState), so a resumed run with dropout is bit-identical to an uninterrupted one.
 */
import { describe, expect, it } from 'vitest';
import {
  Adam, Dropout, Embedding, getRngState, Linear, LSTM, losses, manualSeed, Random, Sequential, setRngState,
} from '../../lib/index.js';
import { expectError } from '../helpers/errors.js';

describe('Random.state / loadState', () => {
  it('continues the same stream, also in another generator and through JSON', () => {
    const r = new Random(42);
    for (let i = 0; i < 5; i++) r.next();
    const saved = r.state();
    const ahead = Array.from({ length: 10 }, () => r.nextUint32());
    r.loadState(saved);
    expect(Array.from({ length: 10 }, () => r.nextUint32())).toEqual(ahead);
    const other = new Random(7);
    other.loadState(JSON.parse(JSON.stringify(saved)));
    expect(Array.from({ length: 10 }, () => other.nextUint32())).toEqual(ahead);
    expect(saved).toEqual({ algorithm: 'xoshiro128**', words: saved.words });
  });
  it('rejects invalid states and keeps its own', () => {
    const r = new Random(1);
    const before = r.state();
    expectError(() => r.loadState(null as never), TypeError, /^random.loadState: state must be an object/);
    expectError(() => r.loadState({ algorithm: 'mt19937', words: [1, 2, 3, 4] } as never), RangeError,
      /^random.loadState: state.algorithm must be 'xoshiro128\*\*', got the string "mt19937"$/);
    expectError(() => r.loadState({ algorithm: 'xoshiro128**', words: [1, 2, 3] } as never), RangeError, /state.words must be an array of 4/);
    expectError(() => r.loadState({ algorithm: 'xoshiro128**', words: [1, 2, -3, 4] }), RangeError,
      /^random.loadState: state.words\[2\] must be an integer in \[0, 4294967295\], got the number -3$/);
    expectError(() => r.loadState({ algorithm: 'xoshiro128**', words: [0, 0, 0, 0] }), RangeError, /must not be all zero/);
    expect(r.state()).toEqual(before);
  });
});

describe('getRngState / setRngState', () => {
  it('restores the process-wide generator: layers built without a seed get the same weights', () => {
    manualSeed(3);
    new Linear({ inFeatures: 2, outFeatures: 2 });
    const saved = getRngState();
    const a = new LSTM({ inputSize: 3, hiddenSize: 4 }).stateDict();
    const b = new LSTM({ inputSize: 3, hiddenSize: 4 }).stateDict();
    expect(b).not.toEqual(a);
    setRngState(saved);
    expect(new LSTM({ inputSize: 3, hiddenSize: 4 }).stateDict()).toEqual(a);
    expectError(() => setRngState({ algorithm: 'xoshiro128**', words: [0, 0, 0, 0] }), RangeError, /^setRngState: state.words must not be all zero/);
  });
});

const [V, B, T] = [11, 4, 10];
const tokens = { data: Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V), shape: [B, T] };
const targets = { data: Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % V), shape: [B, T] };

function build(seed: number) {
  const model = new Sequential({
    embed: new Embedding({ numEmbeddings: V, embeddingDim: 8 }),
    lstm: new LSTM({ inputSize: 8, hiddenSize: 16, numLayers: 2, dropout: 0.3, batchFirst: true }),
    drop: new Dropout({ p: 0.2 }),
    head: new Linear({ inFeatures: 16, outFeatures: V }),
  }, { seed });
  return { model, opt: new Adam(model.parameters(), { lr: 1e-2 }) };
}

function steps(m: ReturnType<typeof build>, n: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < n; s++) {
    const { loss, grad } = losses.crossEntropy(m.model.forward(tokens, { lengths: [10, 7, 10, 3] }), targets);
    m.model.zeroGrad();
    m.model.backward(grad);
    m.opt.step();
    out.push(loss);
  }
  return out;
}

describe('Module.rngState / loadRngState', () => {
  it('names every dropout generator as the state dict names layers', () => {
    expect(Object.keys(build(1).model.rngState())).toEqual(['lstm.rng', 'drop.rng']);
    expect(new Linear({ inFeatures: 1, outFeatures: 1 }).rngState()).toEqual({});
  });

  it('a run resumed from weights, optimizer and random states continues bit-identically with dropout', () => {
    const run = build(5);
    steps(run, 6);
    const snapshot = { weights: run.model.stateDict(), opt: run.opt.state(), rng: JSON.parse(JSON.stringify(run.model.rngState())) };
    const uninterrupted = steps(run, 6);

    const resumed = build(99);
    resumed.model.loadStateDict(snapshot.weights);
    resumed.opt.loadState(snapshot.opt);
    resumed.model.loadRngState(snapshot.rng);
    expect(steps(resumed, 6)).toEqual(uninterrupted);

    // without the random states the masks differ, and so do the losses
    const masksLost = build(99);
    masksLost.model.loadStateDict(snapshot.weights);
    masksLost.opt.loadState(snapshot.opt);
    expect(steps(masksLost, 6)).not.toEqual(uninterrupted);
  });

  it('rejects missing, unexpected or invalid entries and changes nothing then', () => {
    const { model } = build(2);
    const saved = model.rngState();
    expectError(() => model.loadRngState({ 'lstm.rng': saved['lstm.rng']! }), RangeError,
      /^sequential.loadRngState: random states do not match this Sequential: missing drop.rng$/, 'ERR_LSTM_STATE_DICT');
    expectError(() => model.loadRngState({ ...saved, 'head.rng': saved['lstm.rng']! }), RangeError, /unexpected head.rng$/);
    const other = build(3).model.rngState();
    expectError(() => model.loadRngState({ 'lstm.rng': other['lstm.rng']!, 'drop.rng': { algorithm: 'xoshiro128**', words: [1, 2] } as never }),
      RangeError, /^sequential.loadRngState: states\["drop.rng"\].words must be an array of 4 integers/);
    expect(model.rngState()).toEqual(saved);
    expectError(() => model.loadRngState(null as never), TypeError, /^sequential.loadRngState: states must be an object/);
  });
});
