/**
 * Trainer for custom loops: its batches and steps give the same bits as fit, state is carried by
 * hand for truncated BPTT, checkpoints save and restore everything, evaluate in eval mode.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Adam } from '../../lib/optim/index.js';
import { StepLR } from '../../lib/schedule.js';
import { Trainer } from '../../lib/train/trainer.js';
import type { RecurrentState } from '../../lib/layers/module.js';
import { bitsEqual, charModel, periodicTokens, regressor, sumTask } from './helpers.js';

describe('Trainer', () => {
  it('runs a custom loop over its batches with the same bits as fit', async () => {
    const data = sumTask(50);
    const a = regressor(1);
    const fitLosses: number[] = [];
    await a.fit(data, { epochs: 2, batchSize: 16, seed: 3, optimizer: new Adam(a.parameters(), { lr: 1e-2 }), clipGradNorm: 1,
      callbacks: { onBatchEnd: (p) => { fitLosses.push(p.loss); } } });
    const b = regressor(1);
    const trainer = new Trainer(b, { optimizer: new Adam(b.parameters(), { lr: 1e-2 }), clipGradNorm: 1 });
    const loopLosses: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      for await (const batch of trainer.batches(data, { batchSize: 16, seed: 3, epoch })) loopLosses.push((await trainer.trainStep(batch)).loss);
    }
    expect(loopLosses).toEqual(fitLosses);
    expect(bitsEqual(a.parameters().values, b.parameters().values)).toBe(true);
    const { loss } = await trainer.evaluate(data);
    expect(loss).toBeGreaterThan(0);
  });

  it('carries state by hand across token-stream chunks', async () => {
    const tokens = periodicTokens(300);
    const a = charModel(2);
    const fitLosses: number[] = [];
    await a.fit({ tokens }, { tbptt: { steps: 10 }, batchSize: 4, callbacks: { onBatchEnd: (p) => { fitLosses.push(p.loss); } } });
    const b = charModel(2);
    const trainer = new Trainer(b);
    const losses: number[] = [];
    let state: RecurrentState[] | undefined;
    for await (const batch of trainer.batches({ tokens }, { batchSize: 4, tbptt: { steps: 10 } })) {
      const r = await trainer.trainStep(batch, state ? { initialState: state } : {});
      state = r.state;
      losses.push(r.loss);
    }
    expect(losses).toEqual(fitLosses);
    await expect(trainer.trainStep({ x: [[1]], y: [[2]] }, { initialState: [] })).rejects.toThrow(/initialState must be an array of 1 \{ h, c \}/);
  });

  it('saves and loads a checkpoint of weights, optimizer, schedule and extra state', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-trainer-')), 'ck.safetensors');
    const data = sumTask(32);
    const make = (seed: number) => {
      const model = regressor(seed);
      const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
      return new Trainer(model, { optimizer, schedule: new StepLR(optimizer, { stepSize: 2, gamma: 0.5 }) });
    };
    const a = make(1);
    for await (const batch of a.batches(data, { batchSize: 8 })) await a.trainStep(batch);
    await a.saveCheckpoint(file, { epoch: 1 });
    const b = make(2);
    expect(await b.loadCheckpoint(file)).toEqual({ epoch: 1 });
    expect(bitsEqual(a.model.parameters().values, b.model.parameters().values)).toBe(true);
    expect(b.optimizer.stepCount).toBe(4);
    expect(b.optimizer.lr).toBe(a.optimizer.lr);
    const next = async (t: Trainer) => { const out: number[] = []; for await (const batch of t.batches(data, { batchSize: 8, epoch: 1 })) out.push((await t.trainStep(batch)).loss); return out; };
    expect(await next(b)).toEqual(await next(a));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
