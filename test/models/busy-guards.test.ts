/**
 * While forwardAsync or backwardAsync runs, nothing may write the model's parameters or gradients
 * (the native call reads and writes them off the main thread): every such call is refused with
 * ERR_LSTM_BUSY and changes nothing (issue 24, finding 3).
 */
import { describe, expect, it } from 'vitest';
import * as init from '../../lib/init.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { LstmError } from '../../lib/errors.js';
import { Adam } from '../../lib/optim/adam.js';
import { clipGradNorm, clipGradValue } from '../../lib/optim/clip.js';
import { Random } from '../../lib/random.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(3);
const rand = (shape: number[]): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next), shape);

/** Every call that writes parameters or gradients, each expected to throw ERR_LSTM_BUSY naming itself. */
function writers(lstm: LSTM, head: Linear, model: Sequential, opt: Adam): [string, () => unknown][] {
  const view = lstm.namedParameters().weight_hh_l0!;
  return [
    ['Adam.step', () => opt.step()],
    ['Adam.zeroGrad', () => opt.zeroGrad()],
    ['clipGradNorm', () => clipGradNorm(model.parameters(), 1e-3)],
    ['clipGradValue', () => clipGradValue(model.parameters(), 1e-3)],
    ['lstm.setForgetGateBias', () => lstm.setForgetGateBias(1)],
    ['lstm.resetParameters', () => lstm.resetParameters(new Random(1))],
    ['sequential.resetParameters', () => model.resetParameters(new Random(1))],
    ['init.uniform', () => init.uniform(view, -1, 1)],
    ['init.normal', () => init.normal(view)],
    ['init.constant', () => init.constant(view, 0)],
    ['init.xavierUniform', () => init.xavierUniform(view)],
    ['init.orthogonal', () => init.orthogonal(view)],
    ['lstm.loadStateDict', () => lstm.loadStateDict(lstm.stateDict())],
    ['sequential.zeroGrad', () => model.zeroGrad()],
    ['linear.zeroGrad', () => head.zeroGrad()],
    ['linear.forward', () => head.forward(rand([2, 6]))],
    ['sequential.forward', () => model.forward(rand([2, 5, 3]))],
    ['lstm.forward', () => lstm.forward(rand([5, 2, 3]))],
  ];
}

describe('calls during an async call on a model', () => {
  for (const phase of ['forwardAsync', 'backwardAsync'] as const) {
    it(`are refused with ERR_LSTM_BUSY while lstm.${phase} runs, and change nothing`, async () => {
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 6, batchFirst: true });
      const head = new Linear({ inFeatures: 6, outFeatures: 2 });
      const model = new Sequential({ lstm, head }, { seed: 9 });
      const opt = new Adam(model.parameters(), { lr: 0.1 });
      const x = rand([8, 60, 3]);
      // Gradients to protect: a step of the model first.
      model.forward(x);
      model.backward(tensor(new Float32Array(8 * 60 * 2).fill(0.5), [8, 60, 2]));
      const before = { values: model.parameters().values.slice(), grads: model.parameters().grads.slice() };
      lstm.forward(x);
      const pending = phase === 'forwardAsync' ? lstm.forwardAsync(x)
        : lstm.backwardAsync({ output: tensor(new Float32Array(8 * 60 * 6).fill(1), [8, 60, 6]) });
      const during = phase === 'forwardAsync' ? before.grads : null;
      for (const [where, call] of writers(lstm, head, model, opt)) {
        expectError(call, LstmError as never, /busy/,
          'ERR_LSTM_BUSY');
      }
      expect(model.parameters().values).toEqual(before.values);
      if (during) expect(model.parameters().grads).toEqual(during);
      await pending;
      // Idle again: every call works.
      for (const [, call] of writers(lstm, head, model, opt)) expect(call).not.toThrow();
    });
  }

  it('reads stay allowed while busy', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 6, seed: 2 });
    const pending = lstm.forwardAsync(rand([50, 4, 3]));
    expect(Object.keys(lstm.stateDict())).toContain('weight_ih_l0');
    expect(lstm.parameters().size).toBeGreaterThan(0);
    await pending;
  });
});
