/**
 * Sequential's layers are typed from what it was built from, so a layer taken out of a model can be
 * used without a cast. Checked by the compiler (`tsc --noEmit` in npm test covers test/) and at run
 * time.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Embedding } from '../../lib/layers/embedding.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM, type LSTMOutput } from '../../lib/layers/lstm.js';
import type { Module } from '../../lib/layers/module.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { tensor } from '../../lib/tensor.js';
import { expectError } from '../helpers/errors.js';

describe('Sequential layer types', () => {
  it('types each entry of a model built from an array', () => {
    const model = new Sequential([
      new Embedding({ numEmbeddings: 5, embeddingDim: 3 }),
      new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true }),
      new Linear({ inFeatures: 4, outFeatures: 2 }),
    ]);
    expectTypeOf(model.layers[1][1]).toEqualTypeOf<LSTM>();
    expectTypeOf(model.layers[2][1]).toEqualTypeOf<Linear>();
    // The call from the issue: a layer's own forward, no cast.
    const out = model.layers[1][1].forward(tensor(new Float32Array(2 * 3 * 3), [2, 3, 3]));
    expectTypeOf(out).toEqualTypeOf<LSTMOutput>();
    expect(out.output.shape).toEqual([2, 3, 4]);
    expect(model.layers.map(([name]) => name)).toEqual(['0', '1', '2']);
    expect(model.getLayer('1')).toBe(model.layers[1][1]);
  });

  it('types entries and getLayer of a model built from an object', () => {
    const model = new Sequential({
      embed: new Embedding({ numEmbeddings: 5, embeddingDim: 3 }),
      lstm: new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true }),
      head: new Linear({ inFeatures: 4, outFeatures: 2 }),
    });
    const lstm = model.getLayer('lstm');
    expectTypeOf(lstm).toEqualTypeOf<LSTM>();
    expect(lstm.forward(tensor(new Float32Array(6), [1, 2, 3])).h.shape).toEqual([1, 1, 4]);
    // @ts-expect-error: the model has no layer "decoder"
    expectError(() => model.getLayer('decoder'), RangeError, /^sequential.getLayer: no layer named the string "decoder"; layers: embed, lstm, head$/);
    // Each entry's name tells its layer type apart.
    for (const [name, layer] of model.layers) {
      if (name === 'lstm') expectTypeOf(layer).toEqualTypeOf<LSTM>();
      if (name === 'head') expect(layer.outFeatures).toBe(2);
    }
    expect(model.layers.map(([name]) => name)).toEqual(['embed', 'lstm', 'head']);
  });

  it('keeps working untyped: a Sequential as a plain Module', () => {
    const layers: Record<string, Module> = { head: new Linear({ inFeatures: 2, outFeatures: 1 }) };
    const model: Sequential = new Sequential(layers);
    expectTypeOf(model.layers[0]![1]).toEqualTypeOf<Module>();
  });
});
