/**
 * Sequential carries recurrent state: forwardWithState / backwardWithState against the same layers
 * called by hand (bit for bit), truncated BPTT over chunks against one long forward, and the async
 * versions against the sync ones (bit for bit), with the busy rule while they run.
 */
import { describe, expect, it } from 'vitest';
import { Embedding, Linear, LSTM, Sequential, type Tensor } from '../../lib/index.js';
import { expectError } from '../helpers/errors.js';

const [V, E, H1, H2, O, B, T] = [7, 5, 6, 4, 3, 3, 5];
const lengths = [5, 3, 4];

function layers() {
  return {
    embed: new Embedding({ numEmbeddings: V, embeddingDim: E, seed: 1 }),
    enc: new LSTM({ inputSize: E, hiddenSize: H1, numLayers: 2, batchFirst: true, seed: 2 }),
    last: new LSTM({ inputSize: H1, hiddenSize: H2, batchFirst: true, returnSequences: false, seed: 3 }),
    head: new Linear({ inFeatures: H2, outFeatures: O, seed: 4 }),
  };
}

function filled(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 31.7 + i * 1.37) * 0.5), shape };
}

const tokens = { data: Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 2) % V), shape: [B, T] };
const state0 = { enc: { h: filled([2, B, H1], 1), c: filled([2, B, H1], 2) }, last: { h: filled([1, B, H2], 3), c: filled([1, B, H2], 4) } };
const dState = { enc: { h: filled([2, B, H1], 5), c: filled([2, B, H1], 6) }, last: { h: filled([1, B, H2], 7), c: filled([1, B, H2], 8) } };
const dy = filled([B, O], 9);

/** The same computation with each layer called by hand. */
function byHand() {
  const l = layers();
  const x = l.embed.forward(tokens);
  const enc = l.enc.forward(x, { h0: state0.enc.h, c0: state0.enc.c, lengths });
  const last = l.last.forward(enc.output, { h0: state0.last.h, c0: state0.last.c, lengths });
  const y = l.head.forward({ data: last.h.data.slice(), shape: [B, H2] });
  const gLast = l.head.backward(dy);
  const gh = dState.last.h.data.map((v, i) => v + gLast.data[i]!);
  const gl = l.last.backward({ h: { data: gh, shape: [1, B, H2] }, c: dState.last.c });
  const ge = l.enc.backward({ output: gl.x, h: dState.enc.h, c: dState.enc.c });
  l.embed.backward(ge.x);
  const grads: Record<string, number[]> = {};
  for (const [name, layer] of Object.entries(l)) {
    for (const [k, g] of Object.entries(layer.namedGradients())) grads[`${name}.${k}`] = Array.from(g.data);
  }
  return { y, state: { enc: { h: enc.h, c: enc.c }, last: { h: last.h, c: last.c } }, dInit: { enc: ge, last: gl }, grads };
}

function gradsOf(model: Sequential): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.namedGradients()).map(([k, g]) => [k, Array.from(g.data)]));
}

describe('Sequential.forwardWithState / backwardWithState', () => {
  it('equals calling each layer by hand with the same initial states and state gradients, bit for bit', () => {
    const ref = byHand();
    const model = new Sequential(layers());
    const { output, state } = model.forwardWithState(tokens, { state: state0, lengths });
    expect(Array.from(output.data)).toEqual(Array.from(ref.y.data));
    expect(Object.keys(state)).toEqual(['enc', 'last']);
    for (const k of ['enc', 'last'] as const) {
      expect(Array.from(state[k]!.h.data)).toEqual(Array.from(ref.state[k].h.data));
      expect(Array.from(state[k]!.c.data)).toEqual(Array.from(ref.state[k].c.data));
      expect(state[k]!.h.shape).toEqual(ref.state[k].h.shape);
    }
    const back = model.backwardWithState(dy, { state: dState });
    expect(back.input).toBeNull();  // token ids have no gradient
    for (const k of ['enc', 'last'] as const) {
      expect(Array.from(back.state[k]!.h.data)).toEqual(Array.from(ref.dInit[k].h0.data));
      expect(Array.from(back.state[k]!.c.data)).toEqual(Array.from(ref.dInit[k].c0.data));
    }
    expect(gradsOf(model)).toEqual(ref.grads);
  });

  it('changes the result when the initial state or its gradient changes (the state is used)', () => {
    const model = new Sequential(layers());
    const zero = model.forwardWithState(tokens, { lengths });
    const withState = model.forwardWithState(tokens, { lengths, state: state0 });
    expect(Array.from(withState.output.data)).not.toEqual(Array.from(zero.output.data));
    const explicitZero = model.forwardWithState(tokens, { lengths, state: model.zeroState(B) });
    expect(Array.from(explicitZero.output.data)).toEqual(Array.from(zero.output.data));
    expect(Array.from(model.forward(tokens, { lengths }).data)).toEqual(Array.from(zero.output.data));
    model.zeroGrad();
    model.backwardWithState(dy);
    const plain = gradsOf(model);
    model.zeroGrad();
    model.backwardWithState(dy, { state: { last: { c: dState.last.c } } });
    expect(gradsOf(model)['last.weight_hh_l0']).not.toEqual(plain['last.weight_hh_l0']);
  });

  it('carries state across chunks: two chunks of a long sequence give the one-call outputs (truncated BPTT)', () => {
    const model = new Sequential({
      lstm: new LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, batchFirst: true, seed: 7 }),
      head: new Linear({ inFeatures: 8, outFeatures: 2, seed: 8 }),
    });
    const steps = 12;
    const x = filled([2, steps, 3], 10);
    const whole = model.forwardWithState(x);
    const half = (from: number) => {
      const d = new Float32Array(2 * 6 * 3);
      for (let b = 0; b < 2; b++) d.set(x.data.subarray((b * steps + from) * 3, (b * steps + from + 6) * 3), b * 18);
      return { data: d, shape: [2, 6, 3] };
    };
    const first = model.forwardWithState(half(0));
    const second = model.forwardWithState(half(6), { state: first.state });
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < steps; t++) {
        const src = t < 6 ? first.output.data : second.output.data;
        const at = (b * 6 + (t % 6)) * 2;
        for (let k = 0; k < 2; k++) expect(src[at + k]).toBeCloseTo(whole.output.data[(b * steps + t) * 2 + k]!, 5);
      }
    }
    for (let i = 0; i < whole.state.lstm!.c.data.length; i++) {
      expect(second.state.lstm!.c.data[i]).toBeCloseTo(whole.state.lstm!.c.data[i]!, 5);
    }
  });

  it('finds LSTMs inside a nested Sequential by dotted path', () => {
    const l = layers();
    const model = new Sequential({ embed: l.embed, body: new Sequential({ enc: l.enc, last: l.last }), head: l.head });
    expect([...model.recurrentLayers().keys()]).toEqual(['body.enc', 'body.last']);
    const ref = byHand();
    const { output, state } = model.forwardWithState(tokens, { lengths, state: { 'body.enc': state0.enc, 'body.last': state0.last } });
    expect(Array.from(output.data)).toEqual(Array.from(ref.y.data));
    expect(Array.from(state['body.last']!.c.data)).toEqual(Array.from(ref.state.last.c.data));
  });

  it('rejects a state that names no LSTM, is not an object, or has a wrong shape', () => {
    const model = new Sequential(layers());
    expectError(() => model.forwardWithState(tokens, { state: { encoder: state0.enc } }), RangeError,
      /^sequential.forwardWithState: state has an entry "encoder", but the LSTMs of this model are "enc", "last"$/);
    expectError(() => model.forwardWithState(tokens, { state: [] as never }), TypeError,
      /^sequential.forwardWithState: state must be an object of LSTM path -> \{ h, c \}, got an Array of 0 elements$/);
    expectError(() => model.forwardWithState(tokens, { state: { enc: 3 as never } }), TypeError,
      /^sequential.forwardWithState: state\["enc"\] must be an object \{ h, c \}, got the number 3$/);
    expectError(() => model.forwardWithState(tokens, { state: { enc: { h: state0.enc.h, cc: 1 } as never } }), RangeError,
      /unknown option "cc" \(did you mean "c"\?\)/);
    expectError(() => model.forwardWithState(tokens, { state: { last: { h: filled([1, 2, H2], 1) } } }), RangeError,
      /^lstm.forward: h0 must have shape \[1, 3, 4\]/);
    expectError(() => model.zeroState(0), RangeError, /^sequential.zeroState: batchSize must be an integer >= 1, got the number 0$/);
  });
});

describe('Sequential forwardAsync / backwardAsync', () => {
  it('give the sync results bit for bit: outputs, states, input and parameter gradients', async () => {
    const sync = new Sequential(layers());
    const fa = sync.forwardWithState(tokens, { state: state0, lengths });
    const ba = sync.backwardWithState(dy, { state: dState });
    const asyncModel = new Sequential(layers());
    const fb = await asyncModel.forwardWithStateAsync(tokens, { state: state0, lengths });
    const bb = await asyncModel.backwardWithStateAsync(dy, { state: dState });
    expect(Array.from(fb.output.data)).toEqual(Array.from(fa.output.data));
    expect(Array.from(fb.state.enc!.c.data)).toEqual(Array.from(fa.state.enc!.c.data));
    expect(Array.from(bb.state.enc!.h.data)).toEqual(Array.from(ba.state.enc!.h.data));
    expect(gradsOf(asyncModel)).toEqual(gradsOf(sync));

    // features in, input gradient out
    const feat = () => new Sequential({ enc: layers().enc, head: new Linear({ inFeatures: H1, outFeatures: 2, seed: 5 }) });
    const x = filled([B, T, E], 11);
    const g = filled([B, T, 2], 12);
    const s = feat();
    const y1 = s.forward(x, { lengths });
    const dx1 = s.backward(g)!;
    const a = feat();
    const y2 = await a.forwardAsync(x, { lengths });
    const dx2 = (await a.backwardAsync(g))!;
    expect(Array.from(y2.data)).toEqual(Array.from(y1.data));
    expect(Array.from(dx2.data)).toEqual(Array.from(dx1.data));
    expect(gradsOf(a)).toEqual(gradsOf(s));
    expect(await a.backwardAsync(g, { inputGrad: false })).toBeNull();
  });

  it('is busy while a call is in flight: forward, backward, zeroGrad and loadStateDict throw ERR_LSTM_BUSY', async () => {
    const model = new Sequential(layers());
    const pending = model.forwardAsync(tokens, { lengths });
    expectError(() => model.forward(tokens), Error, /^sequential.forward: this Sequential is busy with sequential.forwardAsync/, 'ERR_LSTM_BUSY');
    expectError(() => model.zeroGrad(), Error, /busy/, 'ERR_LSTM_BUSY');
    expectError(() => model.loadStateDict(model.stateDict()), Error, /busy/, 'ERR_LSTM_BUSY');
    await expect(model.forwardWithStateAsync(tokens)).rejects.toMatchObject({ code: 'ERR_LSTM_BUSY' });
    await pending;
    const back = model.backwardAsync(filled([B, O], 1));
    expectError(() => model.backward(filled([B, O], 1)), Error, /busy with sequential.backwardAsync/, 'ERR_LSTM_BUSY');
    await back;
    expect(() => model.forward(tokens)).not.toThrow();
  });

  it('rejects (does not throw) bad options, and leaves the model usable', async () => {
    const model = new Sequential(layers());
    await expect(model.forwardAsync(tokens, { lenghts: [1, 2, 3] } as never)).rejects.toThrow(/did you mean "lengths"/);
    await expect(model.backwardAsync(dy)).rejects.toMatchObject({ code: 'ERR_LSTM_STATE' });
    await expect(model.forwardAsync(tokens)).resolves.toMatchObject({ shape: [B, O] });
    await expect(model.backwardWithStateAsync(dy, { state: { nope: {} } })).rejects.toThrow(RangeError);
    await expect(model.backwardAsync(dy)).resolves.toBeNull();
  });
});
