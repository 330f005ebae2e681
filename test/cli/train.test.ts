/**
 * `lstm train` end to end: a JSON config trains and writes a model that `lstm predict` runs, a plot
 * and checkpoints; --resume continues; Ctrl-C (SIGINT) writes a checkpoint and exits 1 with one line;
 * config mistakes are one line and exit 2.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, lstm, root } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lstm-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, extra: Record<string, unknown>): string {
  const base = JSON.parse(readFileSync(join(root, 'examples', 'train', 'airline.json'), 'utf8'));
  const cfg = {
    ...base,
    data: { train: join(root, 'examples', 'train', 'airline-train.jsonl'), validation: join(root, 'examples', 'train', 'airline-test.jsonl') },
    checkpoint: { dir: join(dir, `${name}-ckpt`), every: 'epoch', keep: 2 },
    output: join(dir, `${name}.safetensors`),
    plot: join(dir, `${name}.svg`),
    ...extra,
  };
  cfg.training = { ...base.training, epochs: 3, ...(extra.training as object) };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

describe('lstm train', () => {
  it('trains from a config, writes the model, the plot and checkpoints; --resume continues to more epochs', () => {
    const path = config('airline', {});
    const r = lstm(['train', '-c', path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/^epoch \d+: loss [\d.]+, validation loss [\d.]+, rmse [\d.]+, val rmse [\d.]+/gm)).toHaveLength(3);
    expect(readFileSync(join(dir, 'airline.svg'), 'utf8')).toContain('<svg');
    expect(readdirSync(join(dir, 'airline-ckpt')).length).toBe(2);
    const p = lstm(['predict', '-m', join(dir, 'airline.safetensors'), '-i', join(root, 'examples', 'train', 'airline-test.jsonl'), '-q']);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout.trim().split('\n')).toHaveLength(48);
    const ev = lstm(['eval', '-m', join(dir, 'airline.safetensors'), '-d', join(root, 'examples', 'train', 'airline-test.jsonl'),
      '--metrics', 'rmse', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const scores = JSON.parse(ev.stdout);
    expect(scores.metrics.rmse).toBeCloseTo(Math.sqrt(scores.loss), 5);
    const more = config('airline', { training: { epochs: 5 } });
    const again = lstm(['train', '-c', more, '--resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.match(/^epoch (\d+)/gm)).toEqual(['epoch 4', 'epoch 5']);
  });

  it('Ctrl-C writes a checkpoint and exits 1 with one line; --resume then finishes', async () => {
    const text = readFileSync(join(root, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 120_000);
    writeFileSync(join(dir, 'text.txt'), text);
    const ckpt = join(dir, 'char-ckpt');
    const path = config('char', {
      model: { type: 'Sequential', layers: [
        ['embed', { type: 'Embedding', options: { numEmbeddings: 65, embeddingDim: 8 } }],
        ['lstm', { type: 'LSTM', options: { inputSize: 8, hiddenSize: 32, batchFirst: true } }],
        ['head', { type: 'Linear', options: { inFeatures: 32, outFeatures: 65 } }]] },
      data: { train: join(dir, 'text.txt') },
      training: { epochs: 2, batchSize: 8, tbpttSteps: 20, loss: 'crossEntropy', metrics: [] },
      checkpoint: { dir: ckpt, every: 5, keep: 2 },
    });
    const child = spawn(process.execPath, [bin, 'train', '-c', path], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setInterval(() => {
      if (existsSync(ckpt) && readdirSync(ckpt).some((f) => f.endsWith('.safetensors'))) { clearInterval(timer); child.kill('SIGINT'); }
    }, 20);
    const status = await new Promise<number | null>((done) => child.on('close', done));
    clearInterval(timer);
    expect(status).toBe(1);
    expect(stderr.trim()).toBe(`lstm: interrupted: a checkpoint is in ${ckpt}; continue with --resume`);
    expect(existsSync(join(dir, 'char.safetensors'))).toBe(false);
    const resumed = lstm(['train', '-c', path, '--resume', '-q']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const g = lstm(['generate', '-m', join(dir, 'char.safetensors'), '-p', 'ROMEO:', '-n', '20', '--seed', '1']);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout.startsWith('ROMEO:')).toBe(true);
  });

  it('config mistakes are one line and exit 2', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ model: {}, data: { train: 'x.jsonl' }, output: 'm.safetensors', trainign: {} }));
    const r = lstm(['train', '-c', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('lstm: config: unknown key (top level).trainign; known: model, data, training, checkpoint, output, plot, $schema, description');
    const missing = lstm(['train', '-c', join(dir, 'nope.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe(`lstm: cannot read config ${join(dir, 'nope.json')}: ENOENT`);
  });
});
