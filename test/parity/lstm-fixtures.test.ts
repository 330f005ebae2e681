/**
 * Parity with PyTorch's nn.LSTM: every lstm_*.safetensors fixture (outputs, final states and every
 * gradient) within the fixtures' documented tolerance, rtol 1e-4 + atol 1e-5. The worst error of
 * each fixture is printed.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LSTM, readSafetensors, type Tensor } from '../../lib/index.js';
import { compare } from '../helpers/compare.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const files = readdirSync(fixtures).filter((f) => /^lstm_.*\.safetensors$/.test(f)).sort();
const RTOL = 1e-4;
const ATOL = 1e-5;

function f32(t: Tensor<any> | undefined): Tensor | undefined {
  return t ? { data: t.data as Float32Array, shape: t.shape } : undefined;
}

describe('PyTorch nn.LSTM parity', () => {
  it('has fixtures to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
  });

  for (const file of files) {
    it(`matches ${file}`, () => {
      const { tensors, metadata } = readSafetensors(join(fixtures, file));
      expect(metadata.kind).toBe('lstm');
      const num = (k: string) => JSON.parse(metadata[k]!) as number;
      const bool = (k: string) => JSON.parse(metadata[k]!) as boolean;
      const lstm = new LSTM({
        inputSize: num('input_size'), hiddenSize: num('hidden_size'), numLayers: num('num_layers'),
        bidirectional: bool('bidirectional'), batchFirst: bool('batch_first'), projSize: num('proj_size'),
      });
      const weights = Object.fromEntries(Object.entries(tensors).filter(([k]) => /^(weight|bias)_/.test(k)));
      lstm.loadStateDict(weights);

      const lengths = tensors.lengths as Tensor<BigInt64Array> | undefined;
      const out = lstm.forward(f32(tensors.x)!, {
        ...(tensors.h0 ? { h0: f32(tensors.h0) } : {}),
        ...(tensors.c0 ? { c0: f32(tensors.c0) } : {}),
        ...(lengths ? { lengths } : {}),
      });
      const grads = lstm.backward({ output: f32(tensors.gy), h: f32(tensors.ghn), c: f32(tensors.gcn) });

      const checks: [string, Tensor, Tensor<any>][] = [
        ['y', out.output, tensors.y!], ['hn', out.h, tensors.hn!], ['cn', out.c, tensors.cn!],
        ['grad.x', grads.x, tensors['grad.x']!],
      ];
      if (tensors['grad.h0']) checks.push(['grad.h0', grads.h0, tensors['grad.h0']]);
      if (tensors['grad.c0']) checks.push(['grad.c0', grads.c0, tensors['grad.c0']]);
      const named = lstm.namedGradients();
      for (const name of Object.keys(weights)) checks.push([`grad.${name}`, named[name]!, tensors[`grad.${name}`]!]);
      expect(Object.keys(named).sort()).toEqual(Object.keys(weights).sort());

      let worst = { name: '', maxAbs: 0, ratio: 0 };
      for (const [name, actual, expected] of checks) {
        expect(expected, `fixture has ${name}`).toBeDefined();
        expect(actual.shape, `${name} shape`).toEqual(expected.shape);
        const d = compare(actual.data, expected.data as Float32Array, RTOL, ATOL);
        if (d.worstRatio > worst.ratio) worst = { name, maxAbs: d.maxAbs, ratio: d.worstRatio };
        expect(d.worstRatio, `${name}: max |diff| ${d.maxAbs.toExponential(2)} at ${d.at}`).toBeLessThanOrEqual(1);
      }
      console.log(`parity ${file}: ${checks.length} tensors, worst ${worst.name} max|diff| ` +
        `${worst.maxAbs.toExponential(2)} (${(worst.ratio * 100).toFixed(1)}% of tolerance)`);
    });
  }
});
