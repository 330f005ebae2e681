/**
 * Checkpoints and exact resume: the losses after resuming equal, bit for bit, those of the run that
 * wrote the checkpoint, from an epoch boundary, from the middle of an epoch, with carried TBPTT
 * state, and after an abort; the file's keys; keep; atomic writes; failures leave the last good
 * checkpoint intact.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LstmError } from '../../lib/errors.js';
import { readSafetensors } from '../../lib/io/safetensors.js';
import { Adam } from '../../lib/optim/index.js';
import { StepLR } from '../../lib/schedule.js';
import { AbortError } from '../../lib/train/abort.js';
import { Dropout } from '../../lib/layers/dropout.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Sequential } from '../../lib/layers/sequential.js';
import type { FitData, FitOptions, History } from '../../lib/train/types.js';
import { bitsEqual, charModel, denseTask, periodicTokens, regressor } from './helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-fit-ckpt-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => path.join(root, `run${dirs++}`);

interface Run { losses: string[]; history: History; weights: Float32Array }

/** Trains with Adam + a per-step StepLR; records every batch's loss as "epoch:step=loss". */
async function train(model: Sequential, data: FitData, options: FitOptions): Promise<Run> {
  const optimizer = new Adam(model.parameters(), { lr: 5e-3 });
  const schedule = new StepLR(optimizer, { stepSize: 3, gamma: 0.8 });
  const losses: string[] = [];
  const history = await model.fit(data, { optimizer, schedule, clipGradNorm: 1, seed: 5, ...options,
    callbacks: { ...options.callbacks, onBatchEnd: async (p) => { losses.push(`${p.epoch}:${p.step}=${p.loss}`); await options.callbacks?.onBatchEnd?.(p); } } });
  return { losses, history, weights: model.parameters().values.slice() };
}

const dense = denseTask(40, 7, 3);
const denseData = { x: dense.x, y: dense.y };

describe('checkpoints', () => {
  it('resumes across an epoch boundary with the same losses and weights, bit for bit', async () => {
    const dir = freshDir();
    const full = await train(regressor(1, 3, 10), denseData, { epochs: 4, batchSize: 8, checkpoint: { dir, keep: 10 } });
    expect(fs.readdirSync(dir).sort()).toEqual([1, 2, 3, 4].map((e) => `checkpoint-e0000${e}-b00000000.safetensors`));
    // A model with other initial weights: everything must come from the checkpoint.
    const resumed = await train(regressor(99, 3, 10), denseData, { epochs: 4, batchSize: 8,
      resumeFrom: path.join(dir, 'checkpoint-e00002-b00000000.safetensors') });
    expect(resumed.losses).toEqual(full.losses.filter((l) => l.startsWith('3:') || l.startsWith('4:')));
    expect(bitsEqual(resumed.weights, full.weights)).toBe(true);
    expect(resumed.history.epochs.map((e) => e.loss)).toEqual(full.history.epochs.map((e) => e.loss));
  });

  it('resumes from the middle of an epoch (shuffled order, running sums) bit for bit', async () => {
    const dir = freshDir();
    const full = await train(regressor(2, 3, 10), denseData, { epochs: 3, batchSize: 8, checkpoint: { dir, every: 2, keep: 100 } });
    // 5 steps per epoch: global step 8 is epoch 2 (index 1), 3 batches in.
    const mid = path.join(dir, 'checkpoint-e00001-b00000003.safetensors');
    expect(fs.existsSync(mid)).toBe(true);
    const resumed = await train(regressor(98, 3, 10), denseData, { epochs: 3, batchSize: 8, resumeFrom: mid });
    expect(resumed.losses).toEqual(full.losses.slice(8));
    expect(resumed.losses[0]).toMatch(/^2:4=/);
    expect(bitsEqual(resumed.weights, full.weights)).toBe(true);
    expect(resumed.history.epochs.map((e) => e.loss)).toEqual(full.history.epochs.map((e) => e.loss));
  });

  it('resumes truncated BPTT mid-epoch with the carried (h, c)', async () => {
    const dir = freshDir();
    const data = { tokens: periodicTokens(400) };
    const opts: FitOptions = { epochs: 2, batchSize: 4, tbptt: { steps: 11 } };
    const full = await train(charModel(3, 7, 6, 16, true, 2), data, { ...opts, checkpoint: { dir, every: 4, keep: 100 } });
    const files = fs.readdirSync(dir).sort();
    const mid = files.find((f) => /e00000-b00000004/.test(f))!;
    expect(mid).toBeDefined();
    expect(Object.keys(readSafetensors(path.join(dir, mid)).tensors)).toContain('carried.0.h');
    const resumed = await train(charModel(97, 7, 6, 16, true, 2), data, { ...opts, resumeFrom: path.join(dir, mid) });
    expect(resumed.losses).toEqual(full.losses.slice(4));
    expect(bitsEqual(resumed.weights, full.weights)).toBe(true);
  });

  it('resumes a model with dropout (between LSTM layers and a Dropout layer) bit for bit', async () => {
    const dir = freshDir();
    const make = (seed: number) => new Sequential({
      lstm: new LSTM({ inputSize: 3, hiddenSize: 10, numLayers: 2, dropout: 0.3, batchFirst: true, returnSequences: false }),
      drop: new Dropout({ p: 0.2 }),
      head: new Linear({ inFeatures: 10, outFeatures: 1 }),
    }, { seed });
    const full = await train(make(11), denseData, { epochs: 3, batchSize: 8, checkpoint: { dir, every: 3, keep: 100 } });
    const mid = path.join(dir, 'checkpoint-e00001-b00000001.safetensors');
    expect(Object.keys(JSON.parse(readSafetensors(mid).metadata.rng!)).sort()).toEqual(['drop.rng', 'lstm.rng']);
    const resumed = await train(make(12), denseData, { epochs: 3, batchSize: 8, resumeFrom: mid });
    expect(resumed.losses).toEqual(full.losses.slice(6));
    expect(bitsEqual(resumed.weights, full.weights)).toBe(true);
  });

  it('writes a checkpoint when aborted, rejects with an AbortError, and resumes from it exactly', async () => {
    const dir = freshDir();
    const full = await train(regressor(4, 3, 10), denseData, { epochs: 3, batchSize: 8 });
    const controller = new AbortController();
    let aborted: unknown;
    try {
      await train(regressor(4, 3, 10), denseData, { epochs: 3, batchSize: 8, checkpoint: { dir }, signal: controller.signal,
        callbacks: { onBatchEnd: (p) => { if (p.globalStep === 7) controller.abort(); } } });
    } catch (e) { aborted = e; }
    expect(aborted).toBeInstanceOf(AbortError);
    expect((aborted as Error).name).toBe('AbortError');
    expect((aborted as Error).message).toMatch(/aborted at epoch 2, step 2 \(checkpoint written\)/);
    expect(fs.readdirSync(dir).sort().at(-1)).toBe('checkpoint-e00001-b00000002.safetensors');
    const resumed = await train(regressor(5, 3, 10), denseData, { epochs: 3, batchSize: 8, resumeFrom: dir });
    expect(resumed.losses).toEqual(full.losses.slice(7));
    expect(bitsEqual(resumed.weights, full.weights)).toBe(true);
    // An already aborted signal rejects before any work.
    const before = regressor(6, 3, 10);
    const w = before.parameters().values.slice();
    await expect(before.fit(denseData, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(bitsEqual(before.parameters().values, w)).toBe(true);
  });

  it('stores weights, optimizer buffers and state under documented keys, keeps the newest, leaves no temp files', async () => {
    const dir = freshDir();
    await train(regressor(7, 3, 10), denseData, { epochs: 4, batchSize: 8, checkpoint: { dir, keep: 2 } });
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['checkpoint-e00003-b00000000.safetensors', 'checkpoint-e00004-b00000000.safetensors']);
    const { tensors, metadata } = readSafetensors(path.join(dir, files[1]!));
    expect(Object.keys(tensors).sort()).toEqual([
      'head.bias', 'head.weight', 'lstm.bias_hh_l0', 'lstm.bias_ih_l0', 'lstm.weight_hh_l0', 'lstm.weight_ih_l0',
      ...['head.bias', 'head.weight', 'lstm.bias_hh_l0', 'lstm.bias_ih_l0', 'lstm.weight_hh_l0', 'lstm.weight_ih_l0']
        .flatMap((n) => [`optimizer.${n}.exp_avg`, `optimizer.${n}.exp_avg_sq`]),
    ].sort());
    expect(tensors['lstm.weight_ih_l0']!.shape).toEqual([40, 3]);
    expect(Object.keys(metadata).sort()).toEqual(['carried', 'format', 'optimizer', 'position', 'rng', 'run', 'schedule', 'version']);
    expect(metadata.format).toBe('lstm-native/fit-checkpoint');
    expect(JSON.parse(metadata.position!)).toEqual({ epoch: 4, batch: 0, globalStep: 20 });
    expect(JSON.parse(metadata.optimizer!)).toMatchObject({ type: 'Adam', step: 20, buffers: ['exp_avg', 'exp_avg_sq'] });
    expect(JSON.parse(metadata.schedule!)).toMatchObject({ type: 'StepLR', lastEpoch: 20 });
    expect(JSON.parse(metadata.run!).history).toHaveLength(4);
  });

  it('stops on a non-finite loss naming the step, leaving the last good checkpoint intact; skip counts the batch', async () => {
    const dir = freshDir();
    const x = { data: dense.x.data.slice(), shape: dense.x.shape };
    x.data[21 * 7 * 3 + 5] = NaN;  // sequence 21: batch 3 of epoch 1 without shuffling
    const model = regressor(8, 3, 10);
    await expect(model.fit({ x, y: dense.y }, { epochs: 2, batchSize: 8, shuffle: false, checkpoint: { dir, every: 1, keep: 10 } }))
      .rejects.toThrow(/non-finite loss is NaN at epoch 1, step 3 \(global step 3\): the model output has non-finite values/);
    const files = fs.readdirSync(dir).sort();
    expect(files.at(-1)).toBe('checkpoint-e00000-b00000002.safetensors');
    expect(() => readSafetensors(path.join(dir, files.at(-1)!))).not.toThrow();
    const skipping = regressor(8, 3, 10);
    const h = await skipping.fit({ x, y: dense.y }, { epochs: 2, batchSize: 8, shuffle: false, onNonFinite: 'skip' });
    expect(h.skippedBatches).toBe(2);
    expect(h.epochs.map((e) => e.skippedBatches)).toEqual([1, 1]);
    expect(skipping.parameters().values.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(h.epochs[1]!.loss)).toBe(true);
  });

  it('names a non-finite gradient tensor', async () => {
    const model = regressor(9, 3, 10);
    const badGrad = (pred: { data: Float32Array; shape: number[] }) => {
      const grad = new Float32Array(pred.data.length).fill(Infinity);
      return { loss: 1, grad: { data: grad, shape: [...pred.shape] } };
    };
    await expect(model.fit(denseData, { loss: badGrad, epochs: 1, batchSize: 8 }))
      .rejects.toThrow(/non-finite gradient norm is (NaN|Infinity) at epoch 1, step 1 \(global step 1\): gradient of lstm\.weight_ih_l0 has non-finite values/);
  });

  it('refuses a checkpoint of other options or another model, and a corrupt file', async () => {
    const dir = freshDir();
    await train(regressor(10, 3, 10), denseData, { epochs: 1, batchSize: 8, checkpoint: { dir } });
    await expect(train(regressor(10, 3, 10), denseData, { epochs: 2, batchSize: 4, resumeFrom: dir }))
      .rejects.toThrow(/was written with batchSize 8, this run has 4/);
    await expect(train(regressor(10, 3, 12), denseData, { epochs: 2, batchSize: 8, resumeFrom: dir }))
      .rejects.toThrow(/tensor "lstm.weight_ih_l0" must be F32 of shape \[48, 3\], got shape \[40, 3\]/);
    const bad = path.join(dir, 'checkpoint-e00009-b00000000.safetensors');
    fs.writeFileSync(bad, 'garbage');
    const err = await train(regressor(10, 3, 10), denseData, { epochs: 2, batchSize: 8, resumeFrom: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LstmError);
    expect((err as LstmError).code).toBe('ERR_LSTM_FILE');
    expect((err as Error).message).toContain(bad);
  });
});
