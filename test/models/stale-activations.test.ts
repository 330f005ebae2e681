/**
 * A backward uses the activations of its forward once, and only with the weights that forward
 * saw: a second backward (without retainGraph), a backward after an optimizer step, loadStateDict
 * or an init function, and a backward after a noGrad forward are refused before any gradient
 * changes (issue 19 "second backward", issue 24 finding 4, finding 8's returnSequences message).
 */
import { describe, expect, it } from 'vitest';
import * as init from '../../lib/init.js';
import { Embedding } from '../../lib/layers/embedding.js';
import { Dropout } from '../../lib/layers/dropout.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { LstmError } from '../../lib/errors.js';
import { SGD } from '../../lib/optim/sgd.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(19);
const rand = (shape: number[]): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next), shape);
const spent = /the last forward's activations were already used by a backward; run forward\(\) again \(or pass retainGraph: true/;
const changed = /the parameters changed since the forward \(an optimizer step, loadStateDict, resetParameters or an init function\)/;

describe('a second backward of one forward', () => {
  it('is refused for an LSTM (sync and async) and leaves the gradients as they were', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const gy = rand([5, 2, 4]);
    lstm.forward(rand([5, 2, 3]));
    lstm.backward({ output: gy });
    const once = lstm.parameters().grads.slice();
    expectError(() => lstm.backward({ output: gy }), LstmError as never, new RegExp(`^lstm.backward: ${spent.source}`), 'ERR_LSTM_STATE');
    await expect(lstm.backwardAsync({ output: gy })).rejects.toMatchObject({ code: 'ERR_LSTM_STATE', message: expect.stringMatching(spent) });
    expect(lstm.parameters().grads).toEqual(once);
  });

  it('runs with retainGraph: true, adding the same gradients again, until a backward without it', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const gy = rand([5, 2, 4]);
    lstm.forward(rand([5, 2, 3]));
    lstm.backward({ output: gy }, { retainGraph: true });
    const once = lstm.parameters().grads.slice();
    lstm.backward({ output: gy });
    lstm.parameters().grads.forEach((g, i) => expect(g).toBeCloseTo(2 * once[i]!, 5));
    expectError(() => lstm.backward({ output: gy }), LstmError as never, spent, 'ERR_LSTM_STATE');
    expectError(() => lstm.backward({ output: gy }, { retainGraph: 1 as never }), TypeError,
      /^lstm.backward: retainGraph must be a boolean, got the number 1$/);
  });

  it('is refused for Linear, Embedding, Dropout and a Sequential', () => {
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    lin.forward(rand([4, 3]));
    lin.backward(rand([4, 2]));
    expectError(() => lin.backward(rand([4, 2])), LstmError as never, new RegExp(`^linear.backward: ${spent.source}`), 'ERR_LSTM_STATE');
    const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 2 });
    emb.forward({ data: Int32Array.from([1, 2]), shape: [2] });
    emb.backward(rand([2, 2]), { retainGraph: true });
    emb.backward(rand([2, 2]));
    expectError(() => emb.backward(rand([2, 2])), LstmError as never, spent, 'ERR_LSTM_STATE');
    const drop = new Dropout({ p: 0.5 });
    drop.forward(rand([4]));
    drop.backward(rand([4]));
    expectError(() => drop.backward(rand([4])), LstmError as never, spent, 'ERR_LSTM_STATE');

    const model = new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true }), head: new Linear({ inFeatures: 4, outFeatures: 2 }) });
    const x = rand([2, 5, 3]);
    const dy = rand([2, 5, 2]);
    model.forward(x);
    model.backward(dy);
    const grads = model.parameters().grads.slice();
    expectError(() => model.backward(dy), LstmError as never, new RegExp(`^sequential.backward: ${spent.source}`), 'ERR_LSTM_STATE');
    expect(model.parameters().grads).toEqual(grads);
  });
});

describe('a backward after the parameters changed', () => {
  const cases: [string, (lstm: LSTM) => void][] = [
    ['optimizer.step()', (lstm) => new SGD(lstm.parameters(), { lr: 0.1 }).step()],
    ['loadStateDict', (lstm) => lstm.loadStateDict(new LSTM({ inputSize: 3, hiddenSize: 4, seed: 9 }).stateDict())],
    ['setForgetGateBias', (lstm) => lstm.setForgetGateBias(1)],
    ['resetParameters', (lstm) => lstm.resetParameters()],
    ['init.orthogonal on a live view', (lstm) => init.orthogonal(lstm.namedParameters().weight_hh_l0!)],
  ];
  for (const [what, change] of cases) {
    it(`is refused after ${what}, before any gradient changes`, () => {
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 2 });
      lstm.forward(rand([5, 2, 3]));
      change(lstm);
      expectError(() => lstm.backward({ output: rand([5, 2, 4]) }), LstmError as never, new RegExp(`^lstm.backward: ${changed.source}`),
        'ERR_LSTM_STATE');
      expect(lstm.parameters().grads.every((g) => g === 0)).toBe(true);
      // A new forward sees the new weights and may be backpropagated.
      lstm.forward(rand([5, 2, 3]));
      expect(() => lstm.backward({ output: rand([5, 2, 4]) })).not.toThrow();
    });
  }

  it('is refused for a Sequential after a step of its optimizer; the usual loop works', () => {
    const model = new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true }), head: new Linear({ inFeatures: 4, outFeatures: 2 }) }, { seed: 3 });
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const x = rand([2, 5, 3]);
    const dy = rand([2, 5, 2]);
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      model.forward(x);
      model.backward(dy);
      opt.step();
    }
    model.forward(x);
    opt.step();
    opt.zeroGrad();
    expectError(() => model.backward(dy), LstmError as never, new RegExp(`^sequential.backward: ${changed.source}`), 'ERR_LSTM_STATE');
    expect(model.parameters().grads.every((g) => g === 0)).toBe(true);
  });
});

describe('a backward after a noGrad forward', () => {
  it('is refused by a Sequential before the head accumulates anything', () => {
    const model = new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true }), head: new Linear({ inFeatures: 4, outFeatures: 2 }) });
    const x = rand([2, 5, 3]);
    model.forward(x);
    model.forward(x, { noGrad: true });
    expectError(() => model.backward(rand([2, 5, 2])), LstmError as never,
      /^sequential.backward: call forward\(\) before backward\(\) \(a forward with noGrad keeps nothing for it\)$/, 'ERR_LSTM_STATE');
    expect(model.parameters().grads.every((g) => g === 0)).toBe(true);
  });

  it('says "call forward() first" for an LSTM with returnSequences: false (not a shape of B = 0)', () => {
    const model = new Sequential({
      lstm: new LSTM({ inputSize: 3, hiddenSize: 8, batchFirst: true, returnSequences: false }),
      head: new Linear({ inFeatures: 8, outFeatures: 1 }),
    });
    model.forward(rand([2, 5, 3]), { noGrad: true });
    expectError(() => model.backward(rand([2, 1])), LstmError as never,
      /^sequential.backward: call forward\(\) before backward\(\) \(a forward with noGrad keeps nothing for it\)$/, 'ERR_LSTM_STATE');
  });
});
