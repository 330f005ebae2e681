/**
 * TensorFlow.js Layers import: models saved by @tensorflow/tfjs (test/io/fixtures/tfjs, from
 * scripts/fixtures/make_tfjs_fixtures.mjs) load with loadModel('.../model.json') and match tfjs'
 * predict() to float32 rounding; unsupported parts are errors naming the layer and the reason, and
 * malformed files are coded errors naming the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LstmError, loadModel, modelInfo, Sequential, type Tensor, type TensorData } from '../../lib/index.js';
import { maxAbsDiff } from './helpers.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tfjs');

interface Io { x: { dtype: string; shape: number[]; data: number[] }; y: { shape: number[]; data: number[] } }

function readIo(name: string): { x: Tensor<TensorData>; y: { shape: number[]; data: number[] } } {
  const io = JSON.parse(fs.readFileSync(path.join(fixtures, name, 'io.json'), 'utf8')) as Io;
  const data = io.x.dtype === 'int32' ? Int32Array.from(io.x.data) : Float32Array.from(io.x.data);
  return { x: { data, shape: io.x.shape }, y: io.y };
}

describe('tfjs Layers models load and match predict()', () => {
  it.each(['seq', 'bidir', 'bidir_last'])('%s', async (name) => {
    const model = await loadModel(path.join(fixtures, name, 'model.json'));
    expect(model).toBeInstanceOf(Sequential);
    expect(model.isTraining).toBe(false);
    const { x, y } = readIo(name);
    const got = (model as Sequential).forward(x, { noGrad: true });
    expect(got.shape).toEqual(y.shape);
    const worst = maxAbsDiff(got.data, y.data);
    if (process.env.SHOW_DIFFS) console.log(`DIFF tfjs ${name} ${worst}`);
    expect(worst).toBeLessThan(2e-6);
    expect(modelInfo(model)!.metadata.source_format).toBe('tfjs-layers-model');
  });
});

describe('tfjs import refusals', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-')); });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  /** A copy of fixture `name` with its model.json edited; returns the error loadModel gives. */
  async function edited(name: string, edit: (json: Record<string, any>) => void, shard?: (b: Buffer) => Buffer): Promise<LstmError> {
    const src = path.join(fixtures, name);
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(json);
    fs.writeFileSync(file, JSON.stringify(json));
    if (shard) {
      const bin = path.join(dir, 'group1-shard1of1.bin');
      fs.writeFileSync(bin, shard(fs.readFileSync(bin)));
    }
    try {
      await loadModel(file);
    } catch (err) {
      expect(err).toBeInstanceOf(LstmError);
      expect((err as LstmError).code).toBe('ERR_LSTM_FILE');
      expect((err as LstmError).message.startsWith(`loadModel: ${file}: `) || (err as Error).message.includes(dir)).toBe(true);
      return err as LstmError;
    }
    throw new Error('loadModel resolved');
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const layers = (j: Record<string, any>): any[] => j.modelTopology.config.layers;

  it.each([
    ['hard_sigmoid gates', (j: Record<string, any>) => { layers(j)[1].config.recurrent_activation = 'hard_sigmoid'; },
      /layer "lstm_LSTM\d+": recurrent_activation "hardSigmoid" is not supported .*hard_sigmoid is a different function/],
    ['a stateful LSTM', (j: Record<string, any>) => { layers(j)[1].config.stateful = true; }, /layer "lstm_LSTM\d+": stateful LSTMs are not supported/],
    ['go_backwards outside Bidirectional', (j: Record<string, any>) => { layers(j)[2].config.go_backwards = true; },
      /layer "lstm_LSTM\d+": go_backwards outside Bidirectional is not supported/],
    ['another layer type', (j: Record<string, any>) => { layers(j)[3].class_name = 'Conv1D'; },
      /layer "dense_Dense\d+": layer type "Conv1D" is not supported/],
    ['a softmax Dense', (j: Record<string, any>) => { layers(j)[3].config.activation = 'softmax'; },
      /layer "dense_Dense\d+": activation "softmax" is not supported/],
    ['masking', (j: Record<string, any>) => { layers(j)[0].config.mask_zero = true; }, /mask_zero is not supported/],
    ['a functional graph', (j: Record<string, any>) => { j.modelTopology.class_name = 'Graph'; }, /only Sequential models/],
    ['a graph model', (j: Record<string, any>) => { j.format = 'graph-model'; }, /only TensorFlow.js Layers models/],
    ['a shard path leaving the folder', (j: Record<string, any>) => { j.weightsManifest[0].paths = ['../x.bin']; },
      /shard paths must be relative and stay in the model's folder/],
    ['quantized weights', (j: Record<string, any>) => { j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8' }; },
      /quantized weights are not supported/],
    ['a weight of the wrong shape', (j: Record<string, any>) => { j.weightsManifest[0].weights[0].shape = [5, 12]; },
      /weight "embedding_Embedding\d+\/embeddings" has shape \[5, 12\], expected \[12, 5\]/],
    ['a missing shard', (j: Record<string, any>) => { j.weightsManifest[0].paths = ['nope.bin']; }, /the weight shard .*nope\.bin of weightsManifest\[0\] does not exist/],
  ])('%s', async (_what, edit, message) => {
    const err = await edited('seq', edit);
    expect(err.message).toMatch(message);
  });

  it('a truncated shard and a model.json that is not JSON', async () => {
    expect((await edited('seq', () => undefined, (b) => b.subarray(0, b.length - 4))).message)
      .toMatch(/the shards of weightsManifest\[0\] hold \d+ bytes, its weights need \d+ \(truncated or wrong shards\?\)/);
    fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "layers-model", ');
    await expect(loadModel(path.join(dir, 'model.json'))).rejects.toMatchObject({ code: 'ERR_LSTM_FILE', message: expect.stringMatching(/not valid JSON/) });
  });
});
