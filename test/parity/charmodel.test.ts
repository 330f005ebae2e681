/**
 * Parity with PyTorch for a whole model: Embedding -> LSTM (batch_first) -> Linear with mean
 * cross-entropy (test/fixtures/charmodel.safetensors): logits, loss and every parameter's gradient
 * within rtol 1e-4 + atol 1e-5, worst error printed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Embedding, Linear, LSTM, losses, readSafetensors, Sequential, type Tensor } from '../../lib/index.js';
import { compare } from '../helpers/compare.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'charmodel.safetensors');

it('reproduces the PyTorch char model: logits, loss and every gradient', () => {
  const { tensors, metadata } = readSafetensors(file);
  const n = (k: string) => Number(JSON.parse(metadata[k]!));
  const V = n('vocab');
  const E = n('embed');
  const H = n('hidden_size');
  const model = new Sequential({
    embed: new Embedding({ numEmbeddings: V, embeddingDim: E }),
    lstm: new LSTM({ inputSize: E, hiddenSize: H, numLayers: n('num_layers'), batchFirst: true }),
    head: new Linear({ inFeatures: H, outFeatures: V }),
  });
  const weights = Object.fromEntries(Object.entries(tensors).filter(([k]) => /^(embed|lstm|head)\./.test(k)));
  model.loadStateDict(weights);

  const logits = model.forward(tensors.tokens as Tensor<BigInt64Array>);
  const { loss, grad } = losses.crossEntropy(logits, tensors.targets as Tensor<BigInt64Array>);
  model.zeroGrad();
  model.backward(grad);

  const checks: [string, ArrayLike<number>, ArrayLike<number>][] = [
    ['logits', logits.data, tensors.logits!.data as Float32Array],
    ['loss', [loss], tensors.loss!.data as Float32Array],
  ];
  const g = model.namedGradients();
  expect(Object.keys(g).sort()).toEqual(Object.keys(weights).sort());
  for (const name of Object.keys(weights)) checks.push([`grad.${name}`, g[name]!.data, tensors[`grad.${name}`]!.data as Float32Array]);
  let worst = { name: '', maxAbs: 0, ratio: 0 };
  for (const [name, actual, expected] of checks) {
    const d = compare(actual, expected, 1e-4, 1e-5);
    if (d.worstRatio >= worst.ratio) worst = { name, maxAbs: d.maxAbs, ratio: d.worstRatio };
    expect(d.worstRatio, `${name}: max |diff| ${d.maxAbs}`).toBeLessThanOrEqual(1);
  }
  console.log(`parity charmodel: ${checks.length} tensors, worst ${worst.name} max|diff| ${worst.maxAbs.toExponential(2)} ` +
    `(${(worst.ratio * 100).toFixed(1)}% of tolerance)`);
});
