/**
 * Parity with torch.optim: every optim_*.safetensors fixture. For each step i the gradient is set to
 * grad{i}, clipped with clipGradNorm when the fixture says so, then the optimizer steps; the result
 * must match `param` within rtol 1e-5 + atol 1e-6 (tighter than the fixtures' documented 1e-4/1e-5:
 * a few float32 steps over a short vector). The worst error of each fixture is printed.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../lib/index.js';
import { Parameters } from '../../lib/parameters.js';
import { Adagrad, Adam, AdamW, clipGradNorm, RMSprop, SGD, type Optimizer } from '../../lib/optim/index.js';
import { compare } from '../helpers/compare.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const files = readdirSync(fixtures).filter((f) => /^optim_.*\.safetensors$/.test(f)).sort();
const RTOL = 1e-5;
const ATOL = 1e-6;

const OPTIMIZERS: Record<string, (p: Parameters, o: Record<string, unknown>) => Optimizer<any>> = {
  SGD: (p, o) => new SGD(p, o as never),
  Adam: (p, o) => new Adam(p, o),
  AdamW: (p, o) => new AdamW(p, o),
  RMSprop: (p, o) => new RMSprop(p, o),
  Adagrad: (p, o) => new Adagrad(p, o),
};

/** torch.optim keyword arguments to our option names: weight_decay -> weightDecay. */
function camelOptions(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}

describe('torch.optim parity', () => {
  it('has fixtures to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of files) {
    it(`matches ${file}`, () => {
      const { tensors, metadata } = readSafetensors(join(fixtures, file));
      expect(metadata.kind).toBe('optimizer');
      const make = OPTIMIZERS[metadata.optimizer!];
      expect(make, `optimizer ${metadata.optimizer}`).toBeDefined();
      const steps = JSON.parse(metadata.steps!) as number;
      const maxNorm = JSON.parse(metadata.clip_grad_norm!) as number | null;
      const param0 = tensors.param0!;
      const values = Float32Array.from(param0.data as Float32Array);
      const grads = new Float32Array(values.length);
      const params = new Parameters(values, grads, [{ name: 'p', shape: [...param0.shape], offset: 0, size: values.length }]);
      const opt = make!(params, camelOptions(JSON.parse(metadata.options!) as Record<string, unknown>));
      for (let i = 0; i < steps; i++) {
        grads.set(tensors[`grad${i}`]!.data as Float32Array);
        if (maxNorm !== null) clipGradNorm(params, maxNorm);
        opt.step();
      }
      const d = compare(values, tensors.param!.data as Float32Array, RTOL, ATOL);
      console.log(`${file}: ${metadata.optimizer} ${metadata.options} clip=${maxNorm} steps=${steps}: ` +
        `max |diff| ${d.maxAbs.toExponential(2)}, worst ratio ${d.worstRatio.toFixed(3)} of rtol ${RTOL} + atol ${ATOL}`);
      expect(d.worstRatio, `worst at ${d.at}`).toBeLessThanOrEqual(1);
      expect(opt.stepCount).toBe(steps);
    });
  }
});
