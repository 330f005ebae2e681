/** Running the built `lstm` command (bin/lstm.js -> dist/cli.js) and making small model files for it. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveModelFile } from '../../lib/cli/model-store.js';
import { featureModel, tokenModel } from '../infer/helpers.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = join(root, 'bin', 'lstm.js');

export interface Run { status: number | null; stdout: string; stderr: string }

/** Runs `lstm args...` to completion (stdin from `input` when given). */
export function lstm(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', input, timeout: 120_000,
    env: { ...process.env, LSTM_NATIVE_POISON_OUTPUTS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell pipeline (bash, pipefail off) and returns its status and output. */
export function shell(script: string): Promise<Run> {
  return new Promise((done) => {
    const p = spawn('bash', ['-c', script], { cwd: root });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** A fresh folder with a feature model (3 features -> 2 outputs) and a token model (11 tokens). */
export async function modelFolder(): Promise<{ dir: string; features: string; tokens: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lstm-cli-'));
  const features = join(dir, 'features.safetensors');
  const tokens = join(dir, 'tokens.safetensors');
  await saveModelFile(features, featureModel(31));
  await saveModelFile(tokens, tokenModel(32), { vocab: 'abcdefghij '.split('') });
  return { dir, features, tokens };
}
