/**
 * The self-describing model file: save then load rebuilds the same architecture with bit-identical
 * parameters and outputs, for every layer type and for Sequentials; the metadata says what the
 * format promises; malformed metadata, newer versions and bare state dicts are refused by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Dropout, Embedding, Linear, LSTM, LstmError, loadModel, manualSeed, Module, MODEL_FORMAT, MODEL_FORMAT_VERSION, modelInfo,
  readSafetensors, Sequential, writeSafetensors, type Tensor,
} from '../../lib/index.js';
import { floats } from './helpers.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-file-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

function tokens(B: number, T: number, V: number): Tensor<Int32Array> {
  return { data: Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V), shape: [B, T] };
}

function expectSameParameters(a: Module, b: Module): void {
  const pa = a.stateDict();
  const pb = b.stateDict();
  expect(Object.keys(pb)).toEqual(Object.keys(pa));
  for (const k of Object.keys(pa)) {
    expect(pb[k]!.shape).toEqual(pa[k]!.shape);
    expect(Buffer.from(pb[k]!.data.buffer).equals(Buffer.from(pa[k]!.data.buffer)), k).toBe(true);
  }
}

function expectBitEqual(a: Float32Array, b: Float32Array): void {
  expect(b.length).toBe(a.length);
  expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
}

async function roundTrip<M extends Module>(model: M): Promise<M> {
  const file = path.join(dir, 'model.safetensors');
  await model.save(file);
  const loaded = await loadModel(file);
  expect(loaded.constructor).toBe(model.constructor);
  expectSameParameters(model, loaded);
  // From the bytes too.
  expectSameParameters(model, await loadModel(fs.readFileSync(file)));
  return loaded as M;
}

describe('model file round trip', () => {
  it('an LSTM with every option (bidirectional, 2 layers, projection, batchFirst, dropout, last step only)', async () => {
    const lstm = new LSTM({ inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true, projSize: 3, batchFirst: true,
      dropout: 0.25, returnSequences: false, seed: 11 });
    const back = await roundTrip(lstm);
    expect(back.config()).toEqual(lstm.config());
    const x = { data: floats(2 * 4 * 5, 1), shape: [2, 4, 5] };
    lstm.eval();
    back.eval();
    const a = lstm.forward(x);
    const b = back.forward(x);
    expectBitEqual(a.output.data, b.output.data);
    expectBitEqual(a.h.data, b.h.data);
    expectBitEqual(a.c.data, b.c.data);
  });

  it('Linear with and without bias, Embedding with paddingIdx, Dropout', async () => {
    for (const layer of [new Linear({ inFeatures: 4, outFeatures: 3, seed: 1 }), new Linear({ inFeatures: 4, outFeatures: 3, bias: false, seed: 2 })]) {
      const back = await roundTrip(layer);
      expect(back.config()).toEqual(layer.config());
      const x = { data: floats(8, 3), shape: [2, 4] };
      expectBitEqual(layer.forward(x).data, back.forward(x).data);
    }
    const embed = new Embedding({ numEmbeddings: 9, embeddingDim: 4, paddingIdx: 2, seed: 5 });
    const e = await roundTrip(embed);
    expect(e.config()).toEqual({ numEmbeddings: 9, embeddingDim: 4, paddingIdx: 2 });
    const drop = await roundTrip(new Dropout({ p: 0.3 }));
    expect(drop.config()).toEqual({ p: 0.3 });
  });

  it('a Sequential of Embedding, LSTM, Dropout, LSTM (last step) and Linear gives bit-identical outputs, with lengths', async () => {
    const model = new Sequential({
      embed: new Embedding({ numEmbeddings: 20, embeddingDim: 6 }),
      lstm: new LSTM({ inputSize: 6, hiddenSize: 8, batchFirst: true, bidirectional: true }),
      drop: new Dropout({ p: 0.1 }),
      last: new LSTM({ inputSize: 16, hiddenSize: 5, batchFirst: true, returnSequences: false }),
      head: new Linear({ inFeatures: 5, outFeatures: 3 }),
    }, { seed: 42 }).eval();
    const back = await roundTrip(model);
    expect(back.isTraining).toBe(false);
    expect(back.layers.map(([n]) => n)).toEqual(['embed', 'lstm', 'drop', 'last', 'head']);
    const x = tokens(3, 6, 20);
    const lengths = [6, 2, 4];
    expectBitEqual(model.forward(x, { lengths }).data, back.forward(x, { lengths }).data);
  });

  it('nested Sequentials and array-built ones (names 0, 1, ...) keep their structure', async () => {
    const inner = new Sequential([new Linear({ inFeatures: 4, outFeatures: 4, seed: 1 }), new Dropout({ p: 0 })]);
    const model = new Sequential({ block: inner, out: new Linear({ inFeatures: 4, outFeatures: 2, seed: 2 }) });
    const back = await roundTrip(model);
    expect(Object.keys(back.stateDict())).toEqual(['block.0.weight', 'block.0.bias', 'out.weight', 'out.bias']);
    const x = { data: floats(8, 9), shape: [2, 4] };
    expectBitEqual(model.forward(x).data, back.forward(x).data);
  });

  it('keeps training mode, and loading leaves the process-wide generator alone', async () => {
    const file = path.join(dir, 'm.safetensors');
    await new Linear({ inFeatures: 2, outFeatures: 2, seed: 1 }).save(file);
    manualSeed(5);
    const expected = new Linear({ inFeatures: 2, outFeatures: 2 }).stateDict();
    manualSeed(5);
    expect((await loadModel(file)).isTraining).toBe(true);
    expect(new Linear({ inFeatures: 2, outFeatures: 2 }).stateDict()).toEqual(expected);
  });

  it('stores the format name, version, architecture and PyTorch names, plus user metadata', async () => {
    const file = path.join(dir, 'm.safetensors');
    const model = new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 4 }), head: new Linear({ inFeatures: 4, outFeatures: 2 }) });
    await model.save(file, { metadata: { author: 'test' } });
    const { tensors, metadata } = readSafetensors(file);
    expect(Object.keys(tensors).sort()).toEqual(['head.bias', 'head.weight', 'lstm.bias_hh_l0', 'lstm.bias_ih_l0',
      'lstm.weight_hh_l0', 'lstm.weight_ih_l0']);
    expect(metadata.format).toBe(MODEL_FORMAT);
    expect(metadata.format_version).toBe(String(MODEL_FORMAT_VERSION));
    expect(metadata.author).toBe('test');
    expect(JSON.parse(metadata.architecture!)).toEqual({ type: 'Sequential', layers: [
      ['lstm', { type: 'LSTM', options: { inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, batchFirst: false,
        projSize: 0, dropout: 0, returnSequences: true } }],
      ['head', { type: 'Linear', options: { inFeatures: 4, outFeatures: 2, bias: true } }],
    ] });
    const loaded = await loadModel(file);
    expect(modelInfo(loaded)?.metadata.author).toBe('test');
    expect(modelInfo(model)).toBeUndefined();
    await expect(model.save(file, { metadata: { format: 'x' } })).rejects.toThrow(/metadata key "format" is set by the format/);
  });

  it('rounds F64 parameters to float32 and says so in the kept metadata', async () => {
    const file = path.join(dir, 'm.safetensors');
    const linear = new Linear({ inFeatures: 2, outFeatures: 1, seed: 3 });
    await linear.save(file);
    const { tensors, metadata } = readSafetensors(file);
    const w64 = Float64Array.from([0.1, 1 / 3]);
    writeSafetensors(file, { weight: { data: w64, shape: [1, 2] }, bias: tensors.bias! }, metadata);
    const back = await loadModel(file);
    expect(back.namedParameters().weight!.data).toEqual(Float32Array.from(w64));
    expect(modelInfo(back)!.metadata.rounded_from_f64).toBe('weight');
    await back.save(file);
    expect(readSafetensors(file).metadata.rounded_from_f64).toBe('weight');
  });
});

describe('model file refusals', () => {
  async function rejected(bytes: Uint8Array): Promise<LstmError> {
    try {
      await loadModel(bytes);
    } catch (err) {
      return err as LstmError;
    }
    throw new Error('loadModel resolved');
  }

  async function withMetadata(edit: (m: Record<string, string>) => void): Promise<LstmError> {
    const file = path.join(dir, 'base.safetensors');
    await new Linear({ inFeatures: 2, outFeatures: 2, seed: 1 }).save(file);
    const { tensors, metadata } = readSafetensors(file);
    edit(metadata);
    writeSafetensors(file, tensors, metadata);
    return rejected(fs.readFileSync(file));
  }

  it('a newer format version says so and which version this package reads', async () => {
    const err = await withMetadata((m) => { m.format_version = '2'; });
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/format version 2, written by a newer lstm-native; this package reads format version 1/);
  });

  it.each([
    ['no format (a bare state dict)', (m: Record<string, string>) => { delete m.format; }, /bare state dict/],
    ['another format', (m: Record<string, string>) => { m.format = 'keras'; }, /format is "keras"/],
    ['a version that is not an integer', (m: Record<string, string>) => { m.format_version = '1.5'; }, /format_version must be a positive integer/],
    ['no architecture', (m: Record<string, string>) => { delete m.architecture; }, /architecture is missing/],
    ['an architecture that is not JSON', (m: Record<string, string>) => { m.architecture = '{'; }, /architecture is not valid JSON/],
    ['an unknown layer type', (m: Record<string, string>) => { m.architecture = '{"type":"GRU","options":{}}'; },
      /unknown layer type the string "GRU"/],
    ['a bad option value', (m: Record<string, string>) => {
      m.architecture = '{"type":"Linear","options":{"inFeatures":2,"outFeatures":-2,"bias":true}}';
    }, /architecture: outFeatures must be an integer >= 1/],
    ['an unknown option', (m: Record<string, string>) => {
      m.architecture = '{"type":"Linear","options":{"inFeatures":2,"outFeatures":2,"bias":true,"act":1}}';
    }, /unknown option "act"/],
    ['absurd sizes', (m: Record<string, string>) => {
      m.architecture = '{"type":"Linear","options":{"inFeatures":1000000,"outFeatures":1000000}}';
    }, /needs 1000001000000 parameters, more than the file's tensors hold/],
    ['an architecture the tensors do not fit', (m: Record<string, string>) => {
      m.architecture = '{"type":"Linear","options":{"inFeatures":2,"outFeatures":2,"bias":false}}';
    }, /do not fit the architecture: unexpected bias/],
    ['a tensor of the wrong shape', (m: Record<string, string>) => {
      m.architecture = '{"type":"Linear","options":{"inFeatures":1,"outFeatures":4,"bias":false}}';
    }, /do not fit the architecture: unexpected bias|shape \[2, 2\], the architecture needs \[4, 1\]/],
    ['a bad training flag', (m: Record<string, string>) => { m.training = 'yes'; }, /training must be "true" or "false"/],
  ])('%s', async (_what, edit, message) => {
    const err = await withMetadata(edit);
    expect(err).toBeInstanceOf(LstmError);
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/^loadModel: <buffer of \d+ bytes>: /);
    expect(err.message).toMatch(message);
  });

  it('a module class the format cannot describe is refused before anything is written', async () => {
    class Custom extends Linear {}
    const file = path.join(dir, 'x.safetensors');
    await expect(new Custom({ inFeatures: 1, outFeatures: 1 }).save(file)).resolves.toBeUndefined();
    class Odd extends Module {
      constructor() { super(0); }
      get slots() { return []; }
      protected initParameters() {}
      override checkBackward() {}
      inputFeatures() { return { kind: 'tokens' } as const; }
      outputFeatures() { return { kind: 'tokens' } as const; }
      forwardChain(): never { throw new Error('no'); }
      backwardChain(): never { throw new Error('no'); }
    }
    await expect(new Odd().save(path.join(dir, 'y.safetensors'))).rejects.toThrow(/cannot describe a module of class Odd/);
    expect(fs.existsSync(path.join(dir, 'y.safetensors'))).toBe(false);
  });

  it('a path that is a folder, a folder that cannot be written: one clear error, the previous file intact', async () => {
    const model = new Linear({ inFeatures: 2, outFeatures: 2, seed: 1 });
    await expect(model.save(dir)).rejects.toThrow(/is a folder, not a regular file; refusing to replace it/);
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'ERR_LSTM_FILE', message: expect.stringMatching(/is a folder, not a regular file/) });
    if (process.getuid?.() !== 0) {
      const ro = path.join(dir, 'ro');
      fs.mkdirSync(ro);
      const file = path.join(ro, 'm.safetensors');
      await model.save(file);
      const before = fs.readFileSync(file);
      fs.chmodSync(ro, 0o555);
      try {
        await expect(new Linear({ inFeatures: 2, outFeatures: 2, seed: 9 }).save(file)).rejects.toThrow(/cannot be written \(EACCES\)/);
      } finally {
        fs.chmodSync(ro, 0o755);
      }
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    }
  });
});
