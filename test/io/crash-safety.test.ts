/**
 * Atomic model files and fit checkpoints under failure: a writer killed with SIGKILL at random
 * moments (LSTM_NATIVE_CRASH_KILLS times for each, default 50: 100 kills in all) always leaves a
 * complete file that loads (the previous or the new one; a killed fit resumes from its newest
 * checkpoint) and later writes sweep the dead writers' temporary files, so none pile up; a full
 * disk (a small tmpfs, where this test may mount one: root on Linux) gives one clear error and
 * keeps the previous file. The child writers run the built package (dist/, built by `npm test`).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Linear, LSTM, loadModel, Sequential, tensor } from '../../lib/index.js';
import { listCheckpoints } from '../../lib/train/checkpoint.js';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'index.js');
const KILLS = Number(process.env.LSTM_NATIVE_CRASH_KILLS ?? 50);

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** Starts `script` (an ES module), waits for its "ready" line, lets it run 1-40 ms, then SIGKILLs it. */
async function killMidWrite(script: string): Promise<void> {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  await new Promise<void>((resolve, reject) => {
    proc.stdout.once('data', () => resolve());
    proc.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 40)));
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
}

/** Runs `lane(l, kills)` in LANES folders at once (the kills are mostly process start-up, which overlaps). */
const LANES = 2;
async function inLanes(run: (laneDir: string, kills: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: LANES }, async (_, l) => {
    const laneDir = path.join(dir, `lane${l}`);
    fs.mkdirSync(laneDir);
    await run(laneDir, Math.ceil(KILLS / LANES));
  }));
}

const tempFiles = (folder: string) => fs.readdirSync(folder).filter((n) => n.endsWith('.tmp'));

/** The checkpointing model of the fit test: LSTM(8 -> 128) and a head, about 850 KB with Adam's state. */
function ckptModel(hidden = 128): Sequential {
  return new Sequential({
    lstm: new LSTM({ inputSize: 8, hiddenSize: hidden, batchFirst: true, returnSequences: false }),
    head: new Linear({ inFeatures: hidden, outFeatures: 1 }),
  }, { seed: 1 });
}
const ckptData = () => ({ x: tensor(new Float32Array(16 * 4 * 8).fill(0.1), [16, 4, 8]), y: tensor(new Float32Array(16).fill(0.5), [16, 1]) });

/** The weights a Linear(300, 300) gets from `seed`: what the child writes. */
function weightsOf(seed: number): Float32Array {
  return new Linear({ inFeatures: 300, outFeatures: 300, seed }).namedParameters().weight!.data;
}

describe('crash safety of model files', () => {
  it(`${KILLS} writers killed mid-write: the file always loads whole, and stale temporary files are swept`, () => inLanes(async (dir, kills) => {
    const file = path.join(dir, 'model.safetensors');
    // Alternates two models, 360 KB each, as fast as it can; says "ready" after the first complete file.
    const child = `
      const { Linear } = await import(${JSON.stringify(dist)});
      const models = [1, 2].map((seed) => new Linear({ inFeatures: 300, outFeatures: 300, seed }));
      await models[0].save(${JSON.stringify(file)});
      process.stdout.write('ready\\n');
      for (let i = 1; ; i++) await models[i % 2].save(${JSON.stringify(file)});`;
    const versions = [weightsOf(1), weightsOf(2)];
    for (let k = 0; k < kills; k++) {
      await killMidWrite(child);
      expect(tempFiles(dir).length).toBeLessThanOrEqual(1);   // the last writer's at most: the others were swept
      const w = (await loadModel(file)).namedParameters().weight!.data;
      expect(versions.some((v) => Buffer.from(v.buffer).equals(Buffer.from(w.buffer)))).toBe(true);
    }
    await new Linear({ inFeatures: 300, outFeatures: 300, seed: 1 }).save(file);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  }), 300_000);

  it(`${KILLS} fit runs killed while writing checkpoints: each resumes from its newest, and no temporary files pile up`, () => inLanes(async (dir, kills) => {
    const ckpt = path.join(dir, 'ckpt');
    // Trains for ever with a checkpoint every step (keep 3), resuming from the folder's newest
    // checkpoint when there is one; says "ready" after its first checkpoint of this run.
    const child = `
      const { LSTM, Linear, Sequential, tensor } = await import(${JSON.stringify(dist)});
      const { existsSync } = await import('node:fs');
      const m = new Sequential({ lstm: new LSTM({ inputSize: 8, hiddenSize: 128, batchFirst: true, returnSequences: false }),
        head: new Linear({ inFeatures: 128, outFeatures: 1 }) }, { seed: 1 });
      const dir = ${JSON.stringify(ckpt)};
      let said = false;
      await m.fit({ x: tensor(new Float32Array(16 * 4 * 8).fill(0.1), [16, 4, 8]), y: tensor(new Float32Array(16).fill(0.5), [16, 1]) },
        { epochs: 1e6, batchSize: 16, checkpoint: { dir, every: 1, keep: 3 }, ...(existsSync(dir) ? { resumeFrom: dir } : {}),
          callbacks: { onCheckpoint: () => { if (!said) { said = true; process.stdout.write('ready\\n'); } } } });`;
    for (let k = 0; k < kills; k++) {
      await killMidWrite(child);   // the next child resumes from the newest checkpoint, or fails the test
      expect(tempFiles(ckpt).length, `after kill ${k + 1}: ${tempFiles(ckpt).join(', ')}`).toBeLessThanOrEqual(1);
    }
    // The newest checkpoint loads here too, and a clean run leaves only checkpoints behind.
    const newest = (await listCheckpoints(ckpt)).at(-1)!;
    const epoch = Number(/-e(\d+)-/.exec(newest)![1]);
    const m = ckptModel();
    await m.fit(ckptData(), { epochs: epoch + 2, batchSize: 16, checkpoint: { dir: ckpt, every: 1, keep: 3 }, resumeFrom: ckpt });
    expect(tempFiles(ckpt)).toEqual([]);
    expect((await listCheckpoints(ckpt)).length).toBe(3);
  }), 300_000);

  const canMount = process.platform === 'linux' && process.getuid?.() === 0;
  /** Runs fn on a tmpfs of `size` mounted at <dir>/small; skips the test where mounting is refused (an unprivileged container). */
  async function onSmallDisk(size: string, skip: () => void, fn: (mnt: string) => Promise<void>): Promise<void> {
    const mnt = path.join(dir, 'small');
    fs.mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]).status !== 0) return skip();
    try {
      await fn(mnt);
    } finally {
      spawnSync('umount', [mnt]);
    }
  }

  it.runIf(canMount)('a full disk: one clear error, the previous file intact, no temporary file left', (ctx) => onSmallDisk('256k', () => ctx.skip(), async (mnt) => {
    const file = path.join(mnt, 'model.safetensors');
    const small = new Linear({ inFeatures: 10, outFeatures: 10, seed: 3 });
    await small.save(file);
    const before = fs.readFileSync(file);
    const big = new Linear({ inFeatures: 512, outFeatures: 512, seed: 4 });   // 1 MB
    await expect(big.save(file)).rejects.toMatchObject({
      code: 'ERR_LSTM_FILE', message: expect.stringMatching(/model\.safetensors: the disk is full \(ENOSPC\); the previous file, if any, is unchanged/),
    });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(mnt)).toEqual(['model.safetensors']);
    const back = await loadModel(file);
    expect(back.stateDict()).toEqual(small.stateDict());
  }));

  it.runIf(canMount)('a full disk while writing a checkpoint: one clear error, the previous checkpoint intact, no temporary file left', (ctx) => onSmallDisk('512k', () => ctx.skip(), async (mnt) => {
    const ckpt = path.join(mnt, 'ckpt');
    await ckptModel(16).fit(ckptData(), { epochs: 1, batchSize: 16, checkpoint: { dir: ckpt } });   // about 20 KB
    const [first] = await listCheckpoints(ckpt);
    const before = fs.readFileSync(first!);
    // The same position with a model whose checkpoint (about 3 MB) cannot fit.
    await expect(ckptModel(256).fit(ckptData(), { epochs: 1, batchSize: 16, checkpoint: { dir: ckpt } })).rejects.toMatchObject({
      code: 'ERR_LSTM_FILE', message: expect.stringMatching(/checkpoint.*: the disk is full \(ENOSPC\); the previous file, if any, is unchanged/),
    });
    expect(fs.readFileSync(first!).equals(before)).toBe(true);
    expect(fs.readdirSync(ckpt)).toEqual([path.basename(first!)]);
  }));
});
