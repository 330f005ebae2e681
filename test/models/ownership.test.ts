/**
 * A layer belongs to one model, a Sequential's constructor is atomic, and a Parameters object (or a
 * view) taken before its layer moved into a Sequential is refused, never silently written to
 * memory no model reads (issue 24, finding 2).
 */
import { describe, expect, it } from 'vitest';
import * as init from '../../lib/init.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { LstmError } from '../../lib/errors.js';
import { SGD } from '../../lib/optim/sgd.js';
import { clipGradNorm } from '../../lib/optim/clip.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(24);
const rand = (shape: number[]): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next), shape);

describe('a refused Sequential leaves its layers whole', () => {
  it('an LSTM busy with forwardAsync is refused, and afterwards loadStateDict still reaches the weights forward reads', async () => {
    const lstm = new LSTM({ inputSize: 4, hiddenSize: 8, seed: 1 });
    const x = rand([6, 3, 4]);
    const pending = lstm.forwardAsync(rand([40, 8, 4]));
    expectError(() => new Sequential({ lstm, head: new Linear({ inFeatures: 8, outFeatures: 2 }) }), LstmError as never,
      /^new Sequential: this model is busy with lstm.forwardAsync/, 'ERR_LSTM_BUSY');
    await pending;
    // The LSTM is not split: the weights loadStateDict writes are the ones forward reads.
    const other = new LSTM({ inputSize: 4, hiddenSize: 8, seed: 2 });
    lstm.loadStateDict(other.stateDict());
    expect(lstm.forward(x).output.data).toEqual(other.forward(x).output.data);
    // And it can still join a model.
    expect(() => new Sequential({ lstm })).not.toThrow();
  });

  it('a layer refused for a feature mismatch can join another model', () => {
    const lstm = new LSTM({ inputSize: 4, hiddenSize: 8, seed: 1 });
    expectError(() => new Sequential({ lstm, head: new Linear({ inFeatures: 9, outFeatures: 2 }) }), RangeError,
      /layer "head" takes 9 features, but "lstm" produces 8 features/);
    const model = new Sequential({ lstm, head: new Linear({ inFeatures: 8, outFeatures: 2 }) });
    expect(model.getLayer('lstm')).toBe(lstm);
  });
});

describe('a layer belongs to one model', () => {
  it('refuses a layer already in a Sequential, and the first model keeps training', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, batchFirst: true, seed: 3 });
    const first = new Sequential({ lstm, head: new Linear({ inFeatures: 5, outFeatures: 1, seed: 4 }) });
    expectError(() => new Sequential({ lstm }), RangeError,
      /^new Sequential: layer "lstm" already belongs to another model \(a Sequential\); a layer belongs to one model/,
      'ERR_LSTM_STATE');
    expectError(() => new Sequential([first.layers[1]![1]]), RangeError, /layer "0" already belongs to another model/);
    // A whole model can be nested once.
    const outer = new Sequential({ body: first });
    expectError(() => new Sequential({ again: first }), RangeError, /layer "again" already belongs to another model/);
    const x = rand([2, 4, 3]);
    const opt = new SGD(outer.parameters(), { lr: 0.5 });
    const before = outer.forward(x).data.slice();
    outer.backward(tensor(new Float32Array(8).fill(1), [2, 4, 1]));
    opt.step();
    expect(outer.forward(x).data).not.toEqual(before);
  });
});

describe('stale Parameters are refused', () => {
  it('an optimizer built from layer.parameters() before the layer joined a Sequential refuses to step', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 5 });
    const staleParams = lstm.parameters();
    const opt = new SGD(staleParams, { lr: 0.1 });
    const staleView = lstm.namedParameters().weight_ih_l0!;
    const model = new Sequential({ lstm, head: new Linear({ inFeatures: 4, outFeatures: 1 }) });
    const stale = /^SGD.step: these parameters are stale: their layer was put into a Sequential, which now holds the weights the model uses; take parameters\(\)/;
    expectError(() => opt.step(), LstmError as never, stale, 'ERR_LSTM_STATE');
    expectError(() => opt.zeroGrad(), LstmError as never, /^SGD.zeroGrad: these parameters are stale/, 'ERR_LSTM_STATE');
    expectError(() => new SGD(staleParams, { lr: 0.1 }), LstmError as never, /^new SGD: these parameters are stale/, 'ERR_LSTM_STATE');
    expectError(() => clipGradNorm(staleParams, 1), LstmError as never, /^clipGradNorm: these parameters are stale/, 'ERR_LSTM_STATE');
    expectError(() => init.constant(staleView, 0), LstmError as never, /^init.constant: these parameters are stale/, 'ERR_LSTM_STATE');
    // Taken again from the model or from the layer, they are live.
    const live = model.parameters();
    expect(() => new SGD(live, { lr: 0.1 }).step()).not.toThrow();
    expect(() => new SGD(lstm.parameters(), { lr: 0.1 }).step()).not.toThrow();
    expect(lstm.parameters().values.buffer).toBe(live.values.buffer);
  });
});
