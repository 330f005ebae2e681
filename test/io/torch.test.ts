/**
 * PyTorch both ways.
 * - PyTorch -> here: state dicts saved from nn.Embedding / nn.LSTM (layers, bidirectional, proj_size)
 *   / nn.Linear models (test/io/fixtures, from scripts/fixtures/make_torch_fixtures.py) load into the
 *   equivalent model here and give PyTorch's outputs.
 * - here -> PyTorch: files saved by model.save load with load_state_dict(strict=True) into the PyTorch
 *   module their architecture describes and give the same outputs. Runs where a Python with torch is
 *   found (LSTM_NATIVE_PYTHON, else /usr/bin/python3, else python3; CI installs Debian's python3-torch).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Embedding, Linear, LSTM, loadModel, readSafetensors, Sequential, writeSafetensors, type Module, type Tensor, type TensorData,
} from '../../lib/index.js';
import { buildModule, checkModuleSpec } from '../../lib/io/architecture.js';
import { floats, maxAbsDiff } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');
const checkScript = path.join(here, '..', '..', 'scripts', 'fixtures', 'check_torch_load.py');

function run(model: Module, x: Tensor<TensorData>, lengths?: BigInt64Array | Int32Array): Tensor {
  const options = lengths ? { lengths } : {};
  if (model instanceof Sequential) return model.forward(x, { ...options, noGrad: true });
  return (model as LSTM).forward(x as Tensor, options).output;
}

describe('PyTorch state dicts load here and give PyTorch\'s outputs', () => {
  const names = ['torch_charmodel', 'torch_bidir_proj', 'torch_classifier'];
  it.each(names)('%s', (name) => {
    const io = readSafetensors(path.join(fixtures, `${name}.io.safetensors`));
    // The equivalent model, built in code as a user would (the architecture JSON only names the options).
    const model = buildModule(checkModuleSpec(JSON.parse(io.metadata.architecture!), Infinity)).eval();
    const state = readSafetensors(path.join(fixtures, `${name}.safetensors`));
    model.loadStateDict(state.tensors);  // strict: every PyTorch name matches
    const x = io.tensors.x!;
    const y = run(model, x, io.tensors.lengths?.data as BigInt64Array | undefined);
    expect(y.shape).toEqual(io.tensors.y!.shape);
    const worst = maxAbsDiff(y.data, io.tensors.y!.data as Float32Array);
    if (process.env.SHOW_DIFFS) console.log(`DIFF ${name} ${worst}`);
    expect(worst).toBeLessThan(2e-6);
  });

  it('the char model built in code, with the state dict of PyTorch names', () => {
    const model = new Sequential({
      embed: new Embedding({ numEmbeddings: 11, embeddingDim: 5, paddingIdx: 0 }),
      lstm: new LSTM({ inputSize: 5, hiddenSize: 6, numLayers: 2, batchFirst: true }),
      head: new Linear({ inFeatures: 6, outFeatures: 4 }),
    });
    model.loadStateDict(readSafetensors(path.join(fixtures, 'torch_charmodel.safetensors')).tensors);
    const io = readSafetensors(path.join(fixtures, 'torch_charmodel.io.safetensors'));
    expect(maxAbsDiff(model.forward(io.tensors.x!, { noGrad: true }).data, io.tensors.y!.data as Float32Array)).toBeLessThan(2e-6);
  });

  it('a bare PyTorch state dict given to loadModel says how to load it', async () => {
    await expect(loadModel(path.join(fixtures, 'torch_charmodel.safetensors'))).rejects.toThrow(/bare state dict/);
  });
});

/** A Python with torch, or null. */
function findTorchPython(): string | null {
  for (const py of [process.env.LSTM_NATIVE_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

const python = findTorchPython();

describe.skipIf(python === null)('files saved here load into PyTorch with load_state_dict(strict=True)', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-check-')); });
  afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });


  it('every layer type, projections, bidirectional stacks, lengths and last-step outputs', async () => {
    const cases: [string, Module, Tensor<TensorData>, BigInt64Array | undefined][] = [
      ['lstm_proj', new Sequential({ lstm: new LSTM({ inputSize: 4, hiddenSize: 7, numLayers: 2, bidirectional: true, projSize: 3, seed: 1 }) }),
        { data: floats(5 * 3 * 4, 1), shape: [5, 3, 4] }, BigInt64Array.from([5n, 2n, 4n])],
      ['char', new Sequential({
        embed: new Embedding({ numEmbeddings: 13, embeddingDim: 6, paddingIdx: 1, seed: 2 }),
        lstm: new LSTM({ inputSize: 6, hiddenSize: 8, numLayers: 2, batchFirst: true, seed: 3 }),
        head: new Linear({ inFeatures: 8, outFeatures: 13, seed: 4 }),
      }), { data: BigInt64Array.from({ length: 2 * 9 }, (_, i) => BigInt((i * 5) % 13)), shape: [2, 9] }, undefined],
      ['classifier', new Sequential({
        embed: new Embedding({ numEmbeddings: 7, embeddingDim: 4, seed: 5 }),
        lstm: new LSTM({ inputSize: 4, hiddenSize: 5, bidirectional: true, batchFirst: true, returnSequences: false, seed: 6 }),
        head: new Linear({ inFeatures: 10, outFeatures: 3, bias: false, seed: 7 }),
      }), { data: BigInt64Array.from({ length: 3 * 6 }, (_, i) => BigInt((i * 3) % 7)), shape: [3, 6] }, BigInt64Array.from([6n, 1n, 3n])],
    ];
    const args: string[] = [];
    for (const [name, model, x, lengths] of cases) {
      model.eval();
      const y = run(model, x, lengths);
      const modelFile = path.join(dir, `${name}.safetensors`);
      const ioFile = path.join(dir, `${name}.io.safetensors`);
      await model.save(modelFile);
      writeSafetensors(ioFile, { x, y, ...(lengths ? { lengths: { data: lengths, shape: [lengths.length] } } : {}) });
      args.push(modelFile, ioFile);
    }
    const r = spawnSync(python!, [checkScript, ...args], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { model: string; max_abs_diff: number });
    expect(results.map((x) => x.model)).toEqual(cases.map(([n]) => `${n}.safetensors`));
    if (process.env.SHOW_DIFFS) console.log(`DIFF torch-side ${JSON.stringify(results)}`);
    for (const res of results) expect(res.max_abs_diff, res.model).toBeLessThan(2e-6);
    // The same files load back here too.
    for (const [name, model, x, lengths] of cases) {
      const back = (await loadModel(path.join(dir, `${name}.safetensors`))).eval();
      expect(maxAbsDiff(run(back, x, lengths).data, run(model, x, lengths).data)).toBe(0);
    }
  });
});

describe('CI runs the PyTorch direction', () => {
  it.runIf(process.env.CI === 'true')('finds a Python with torch (.ci/run installs python3-torch)', () => {
    expect(python).not.toBeNull();
  });
});
