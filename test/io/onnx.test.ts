/**
 * ONNX export checked by ONNX Runtime: every supported layer, and a bidirectional 2-layer model with
 * lengths, give this package's outputs within 1e-5 when run by onnxruntime-node; projections, odd
 * options and unknown module types are refused by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Dropout, Embedding, encodeOnnx, exportOnnx, Linear, LSTM, Module, Sequential, type Tensor, type TensorData,
} from '../../lib/index.js';
import { floats, maxAbsDiff as worst } from './helpers.js';

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

function ids(n: number, V: number): BigInt64Array {
  return BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7 + 2) % V));
}

/** Exports `model`, runs it in ONNX Runtime and returns the outputs by name. */
async function runOrt(name: string, model: Module, x: Tensor<TensorData>, lengths?: Int32Array): Promise<Record<string, ort.Tensor>> {
  const file = path.join(dir, `${name}.onnx`);
  await exportOnnx(model, file, { opset: 17, lengths: lengths !== undefined });
  const session = await ort.InferenceSession.create(file);
  const feeds: Record<string, ort.Tensor> = {
    input: x.data instanceof BigInt64Array ? new ort.Tensor('int64', x.data, x.shape) : new ort.Tensor('float32', x.data as Float32Array, x.shape),
  };
  if (lengths) feeds.lengths = new ort.Tensor('int32', lengths, [lengths.length]);
  const out = await session.run(feeds);
  await session.release();
  return out;
}

const seen: Record<string, number> = {};
afterAll(() => { if (process.env.SHOW_DIFFS) console.log(`DIFF onnx ${JSON.stringify(seen)}`); });

describe('ONNX Runtime runs exported models with the same outputs (1e-5)', () => {
  it('a lone LSTM, time-major: output, h and c', async () => {
    const lstm = new LSTM({ inputSize: 5, hiddenSize: 7, seed: 1 });
    const x = { data: floats(6 * 3 * 5, 1), shape: [6, 3, 5] };
    const want = lstm.forward(x);
    const got = await runOrt('lstm', lstm, x);
    for (const k of ['output', 'h', 'c'] as const) {
      expect(got[k]!.dims).toEqual(want[k].shape);
      seen[`lstm.${k}`] = worst(want[k].data, got[k]!.data as Float32Array);
      expect(seen[`lstm.${k}`]).toBeLessThan(1e-5);
    }
  });

  it('a lone LSTM, batchFirst, 2 layers, bidirectional, with lengths', async () => {
    const lstm = new LSTM({ inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional: true, batchFirst: true, seed: 2 });
    const x = { data: floats(3 * 5 * 4, 2), shape: [3, 5, 4] };
    const lengths = Int32Array.from([5, 2, 3]);
    const want = lstm.forward(x, { lengths });
    const got = await runOrt('lstm_bidir', lstm, x, lengths);
    for (const k of ['output', 'h', 'c'] as const) {
      expect(got[k]!.dims).toEqual(want[k].shape);
      seen[`lstm_bidir.${k}`] = worst(want[k].data, got[k]!.data as Float32Array);
      expect(seen[`lstm_bidir.${k}`]).toBeLessThan(1e-5);
    }
  });

  it('Linear, with and without bias, and Embedding', async () => {
    for (const [i, linear] of [new Linear({ inFeatures: 6, outFeatures: 4, seed: 3 }), new Linear({ inFeatures: 6, outFeatures: 4, bias: false, seed: 4 })].entries()) {
      const x = { data: floats(5 * 6, 5), shape: [5, 6] };
      const got = await runOrt(`linear${i}`, linear, x);
      seen[`linear${i}`] = worst(linear.forward(x).data, got.output!.data as Float32Array);
      expect(seen[`linear${i}`]).toBeLessThan(1e-5);
    }
    const embed = new Embedding({ numEmbeddings: 10, embeddingDim: 3, seed: 6 });
    const tokens = { data: ids(2 * 4, 10), shape: [2, 4] };
    const got = await runOrt('embed', embed, tokens);
    expect(got.output!.dims).toEqual([2, 4, 3]);
    seen.embedding = worst(embed.forward(tokens).data, got.output!.data as Float32Array);
    expect(seen.embedding).toBe(0);
  });

  it('Embedding -> bidirectional 2-layer LSTM (batchFirst) -> Dropout -> Linear, with lengths', async () => {
    const model = new Sequential({
      embed: new Embedding({ numEmbeddings: 17, embeddingDim: 8 }),
      lstm: new LSTM({ inputSize: 8, hiddenSize: 12, numLayers: 2, bidirectional: true, batchFirst: true }),
      drop: new Dropout({ p: 0.2 }),
      head: new Linear({ inFeatures: 24, outFeatures: 5 }),
    }, { seed: 7 }).eval();
    const x = { data: ids(4 * 9, 17), shape: [4, 9] };
    const lengths = Int32Array.from([9, 3, 1, 6]);
    const want = model.forward(x, { lengths });
    const got = await runOrt('seq', model, x, lengths);
    expect(got.output!.dims).toEqual(want.shape);
    seen.sequential_bidir_lengths = worst(want.data, got.output!.data as Float32Array);
    expect(seen.sequential_bidir_lengths).toBeLessThan(1e-5);
  });

  it('time-major stacks, an LSTM returning its last step, and a classifier head', async () => {
    const model = new Sequential({
      a: new LSTM({ inputSize: 3, hiddenSize: 5 }),
      b: new LSTM({ inputSize: 5, hiddenSize: 4, bidirectional: true, returnSequences: false }),
      head: new Linear({ inFeatures: 8, outFeatures: 2 }),
    }, { seed: 8 });
    const x = { data: floats(7 * 3 * 3, 9), shape: [7, 3, 3] };
    const lengths = Int32Array.from([7, 4, 2]);
    const want = model.forward(x, { lengths });
    const got = await runOrt('last', model, x, lengths);
    expect(got.output!.dims).toEqual([3, 2]);
    seen.sequential_last_step = worst(want.data, got.output!.data as Float32Array);
    expect(seen.sequential_last_step).toBeLessThan(1e-5);
  });

  it('batch and time are dynamic: one export runs other sizes', async () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, batchFirst: true, seed: 10 });
    const file = path.join(dir, 'dyn.onnx');
    await exportOnnx(lstm, file);
    const session = await ort.InferenceSession.create(file);
    for (const [B, T] of [[1, 1], [5, 11]] as const) {
      const x = { data: floats(B * T * 2, B + T), shape: [B, T, 2] };
      const got = await session.run({ input: new ort.Tensor('float32', x.data, x.shape) });
      expect(worst(lstm.forward(x).output.data, got.output!.data as Float32Array)).toBeLessThan(1e-5);
    }
    await session.release();
  });
});

describe('ONNX export refusals', () => {
  it('a projection is refused, naming the layer', () => {
    const model = new Sequential({ enc: new LSTM({ inputSize: 3, hiddenSize: 6, projSize: 2 }) });
    expect(() => encodeOnnx(model)).toThrow(/layer "enc" has projSize 2; ONNX's LSTM operator has no projection/);
  });

  it('bad options and module types', async () => {
    const lin = new Linear({ inFeatures: 1, outFeatures: 1 });
    expect(() => encodeOnnx(lin, { opset: 9 })).toThrow(/opset must be an integer in \[14, 21\], got the number 9/);
    expect(() => encodeOnnx(lin, { opsett: 17 } as never)).toThrow(/unknown option "opsett" \(did you mean "opset"\?\)/);
    expect(() => encodeOnnx({} as Module)).toThrow(/model must be a layer or a Sequential/);
    await expect(exportOnnx(lin, dir)).rejects.toThrow(/is a folder, not a regular file/);
  });
});
