/**
 * Atomic model files under failure: a writer killed with SIGKILL at random moments always leaves a
 * complete file that loads (the previous or the new one) and the next write sweeps its temporary
 * files; a full disk (a small tmpfs, where this test may mount one) gives one clear error and keeps
 * the previous file. The child writers run the built package (dist/, built by `npm test`).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Linear, loadModel } from '../../lib/index.js';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'index.js');
const KILLS = 12;

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** The weights a Linear(300, 300) gets from `seed`: what the child writes. */
function weightsOf(seed: number): Float32Array {
  return new Linear({ inFeatures: 300, outFeatures: 300, seed }).namedParameters().weight!.data;
}

describe('crash safety of model files', () => {
  it(`${KILLS} writers killed mid-write: the file always loads whole, and stale temporary files are swept`, async () => {
    const file = path.join(dir, 'model.safetensors');
    // Alternates two models, 360 KB each, as fast as it can; says "ready" after the first complete file.
    const child = `
      const { Linear } = await import(${JSON.stringify(dist)});
      const models = [1, 2].map((seed) => new Linear({ inFeatures: 300, outFeatures: 300, seed }));
      await models[0].save(${JSON.stringify(file)});
      process.stdout.write('ready\\n');
      for (let i = 1; ; i++) await models[i % 2].save(${JSON.stringify(file)});`;
    const versions = [weightsOf(1), weightsOf(2)];
    for (let k = 0; k < KILLS; k++) {
      const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        proc.stdout.once('data', () => resolve());
        proc.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      });
      await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 40)));
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      const w = (await loadModel(file)).namedParameters().weight!.data;
      expect(versions.some((v) => Buffer.from(v.buffer).equals(Buffer.from(w.buffer)))).toBe(true);
    }
    await new Linear({ inFeatures: 300, outFeatures: 300, seed: 1 }).save(file);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  }, 120_000);

  const canMount = process.platform === 'linux' && process.getuid?.() === 0;
  it.runIf(canMount)('a full disk: one clear error, the previous file intact, no temporary file left', async () => {
    const mnt = path.join(dir, 'small');
    fs.mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
    if (!mounted) return;  // no permission to mount here (an unprivileged container)
    try {
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
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
